#!/usr/bin/env python3
"""Writes test-data/realcaps-rtp-streams.tsv: tshark's RTP streams of every capture under
../shared/data/realcaps (the oracle table of src/voip/realcaps-rtp-table.test.ts).

    python3 test-data/make-realcaps-rtp-streams.py [REALCAPS] > test-data/realcaps-rtp-streams.tsv

Per stream: the mode (`sdp`: tshark's defaults, RTP found by SIP/SDP, MGCP, MEGACO…; `heuristic`:
`-o rtp.heuristic_rtp:TRUE`, every UDP packet that looks like RTP), then the row of
`tshark -q -z rtp,streams` as printed (addresses, SSRC, payload names, packets, lost,
min/mean/max delta and jitter in ms). Files with no row have no stream in that mode.
"""
import os
import re
import subprocess
import sys

from concurrent.futures import ThreadPoolExecutor

from realcaps_files import capture_files, realcaps_root

root = realcaps_root()
files = capture_files(root)
row = re.compile(
    r'^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-F]+)\s+(.+?)\s+(\d+)\s+(-?\d+)\s+\([-\d.]+%\)'
    r'\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)'
)
modes = {'sdp': [], 'heuristic': ['-o', 'rtp.heuristic_rtp:TRUE']}


def streams(job):
    name, mode = job
    run = subprocess.run(['tshark', '-r', os.path.join(root, name), *modes[mode], '-q', '-z', 'rtp,streams'],
                         capture_output=True, text=True, timeout=600)
    out = []
    for line in run.stdout.splitlines():
        m = row.match(line)
        if m:
            src, sport, dst, dport, ssrc, payload, *rest = m.groups()
            out.append('\t'.join([name, mode, f'{src}:{sport}', f'{dst}:{dport}', ssrc, payload, *rest]))
    return out


print('file\tmode\tsrc\tdst\tssrc\tpayload\tpackets\tlost\tmin_delta\tmean_delta\tmax_delta\tmin_jitter\tmean_jitter\tmax_jitter')
with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    for lines in pool.map(streams, [(f, m) for f in files for m in modes]):
        for line in lines:
            print(line)
