#!/usr/bin/env python3
"""Writes test-data/realcaps-capinfos.tsv: what capinfos and tcpdump make of every capture under
../shared/data/realcaps (the oracle table of src/fuzz/realcaps-walk.test.ts).

    python3 test-data/make-realcaps-capinfos.py [REALCAPS] > test-data/realcaps-capinfos.tsv

Per file: capinfos' packet count (`capinfos -c -M`; when it stops with an error, the count in
"An error occurred after reading N packets"), then each tool's status: ok, truncated (the file
ends inside a record: capinfos "cut short", tcpdump "truncated dump file"), or error (refused, or
stopped at a broken record), and the tool's message (paths made relative).
"""
import os
import re
import subprocess
import sys

from realcaps_files import capture_files, realcaps_root

root = realcaps_root()
files = capture_files(root)


def message(stderr: str, prefix: str) -> str:
    lines = [l for l in stderr.splitlines() if l.startswith(prefix)]
    return ' '.join(lines).replace(root + '/', '').replace('\t', ' ')


print('file\tcapinfos_packets\tcapinfos\ttcpdump\tcapinfos_message\ttcpdump_message')
for rel in files:
    path = os.path.join(root, rel)
    c = subprocess.run(['capinfos', '-c', '-M', path], capture_output=True, text=True, errors='replace', timeout=300)
    m = re.search(r'Number of packets:\s+(\d+)', c.stdout) or re.search(r'after reading (\d+) packets', c.stderr)
    c_msg = message(c.stderr, 'capinfos:')
    c_status = 'ok' if c.returncode == 0 and not c_msg else 'truncated' if 'cut short' in c_msg else 'error'
    t = subprocess.run(['tcpdump', '-nr', path], capture_output=True, text=True, errors='replace', timeout=300)
    t_msg = message(t.stderr, 'tcpdump:')
    t_status = 'ok' if t.returncode == 0 and not t_msg else 'truncated' if 'truncated dump file' in t_msg else 'error'
    print(f"{rel}\t{m.group(1) if m else '-'}\t{c_status}\t{t_status}\t{c_msg[:160]}\t{t_msg[:160]}")
