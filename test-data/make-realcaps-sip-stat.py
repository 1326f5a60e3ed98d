#!/usr/bin/env python3
"""Writes test-data/realcaps-sip-stat.tsv: tshark's SIP statistics of every capture under
../shared/data/realcaps (the oracle table of src/voip/realcaps-sip.test.ts).

    python3 test-data/make-realcaps-sip-stat.py [REALCAPS] > test-data/realcaps-sip-stat.tsv

Per capture with SIP: `tshark -q -z sip,stat`'s message count and its counts per request method and
response status code (space-separated NAME=COUNT, sorted). Captures with no SIP message are left out.
"""
import os
import re
import subprocess
import sys

from concurrent.futures import ThreadPoolExecutor

from realcaps_files import capture_files, realcaps_root

root = realcaps_root()
files = capture_files(root)
count = re.compile(r'^\s+(?:SIP (\d{3}) .*?|(\S+))\s+:\s+(\d+) Packets', re.M)


def stat(name):
    run = subprocess.run(['tshark', '-r', os.path.join(root, name), '-q', '-z', 'sip,stat'],
                         capture_output=True, text=True, timeout=600)
    total = re.search(r'Number of SIP messages: (\d+)', run.stdout)
    if not total or total.group(1) == '0':
        return None
    counts = sorted(f'{m.group(1) or m.group(2)}={m.group(3)}' for m in count.finditer(run.stdout))
    return f'{name}\t{total.group(1)}\t{" ".join(counts)}'


print('file\tmessages\tcounts')
with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    for line in pool.map(stat, files):
        if line:
            print(line)
