#!/usr/bin/env python3
"""Writes test-data/realcaps-conversations.tsv: tshark's TCP and UDP conversations of every capture
under ../shared/data/realcaps (the oracle table of src/flows/realcaps-conversations.test.ts).

    python3 test-data/make-realcaps-conversations.py [REALCAPS] > test-data/realcaps-conversations.tsv

Per capture: the frames `tshark -q -z conv,tcp -z conv,udp` counts in TCP and in UDP conversations,
the number of address:port pairs, and a digest of the pairs: SHA-256 (first 16 hex digits) of the
sorted lines "PROTO LOW HIGH FRAMES_LOW_TO_HIGH FRAMES_HIGH_TO_LOW", one per pair (LOW < HIGH as
strings; the conversations tshark splits by TCP stream are summed per pair). Captures tshark cannot
read have "-" in every column.
"""
import hashlib
import os
import re
import subprocess
from collections import Counter

from realcaps_files import capture_files, print_table, realcaps_root

root = realcaps_root()
row = re.compile(r'^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\d+ (?:bytes|kB|MB|GB)\s+(\d+)\s+\d+ (?:bytes|kB|MB|GB)\s')


def conversations(name):
    run = subprocess.run(['tshark', '-n', '-r', os.path.join(root, name), '-q', '-z', 'conv,tcp', '-z', 'conv,udp'],
                         capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        return f'{name}\t-\t-\t-\t-'
    proto = None
    frames = Counter()
    totals = Counter()
    for line in run.stdout.splitlines():
        if 'TCP Conversations' in line:
            proto = 'tcp'
        elif 'UDP Conversations' in line:
            proto = 'udp'
        m = row.match(line)
        if m is None:
            continue
        # tshark's columns: A, B, frames B -> A, bytes, frames A -> B, bytes.
        a, b, b_to_a, a_to_b = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        low, high = sorted((a, b))
        frames[(proto, low, high, 'up')] += a_to_b if low == a else b_to_a
        frames[(proto, low, high, 'down')] += b_to_a if low == a else a_to_b
        totals[proto] += a_to_b + b_to_a
    pairs = sorted({key[:3] for key in frames})
    lines = [f'{p} {lo} {hi} {frames[(p, lo, hi, "up")]} {frames[(p, lo, hi, "down")]}' for p, lo, hi in pairs]
    digest = hashlib.sha256('\n'.join(lines).encode()).hexdigest()[:16]
    return f'{name}\t{totals["tcp"]}\t{totals["udp"]}\t{len(pairs)}\t{digest}'


print_table('file\ttcp_frames\tudp_frames\tpairs\tdigest', conversations, capture_files(root))
