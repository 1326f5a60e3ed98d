#!/usr/bin/env python3
"""Writes test-data/realcaps-io-stat.tsv: tshark's 1-second I/O statistics of the TCP and UDP frames
of every capture under ../shared/data/realcaps (the oracle table of src/flows/realcaps-io-stat.test.ts).

    python3 test-data/make-realcaps-io-stat.py [REALCAPS] > test-data/realcaps-io-stat.tsv

Per capture: `tshark -q -z io,stat,1,FILTER` with FILTER = (tcp or udp) and not icmp and not icmpv6
(frames with a TCP or UDP header, not an ICMP error quoting one: the frames `qoelab flows` counts in
its time series), intervals starting at the first frame. Columns: the occupied intervals, their
frames and bytes (frame lengths) in all, and a digest: SHA-256 (first 16 hex digits) of the lines
"INTERVAL FRAMES BYTES" of the occupied intervals (a capture of duration 0, for which tshark prints
no interval, has its filtered frames in interval 0). Captures tshark cannot read have "-" in every
column; captures spanning more than 100,000 s (forwards or backwards), or whose intervals tshark cannot hold in 4 GiB (it
keeps every empty interval: test202.pcapng's sections have no common time) or print in a million
lines, have "span".
"""
import hashlib
import os
import re
import resource
import subprocess

from realcaps_files import capture_files, print_table, realcaps_root

root = realcaps_root()
FILTER = '(tcp or udp) and not icmp and not icmpv6'
MAX_SPAN_S = 100_000
MAX_TSHARK_MEMORY = 4 << 30
MAX_OUTPUT_LINES = 1_000_000


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MAX_TSHARK_MEMORY, MAX_TSHARK_MEMORY))


# "| 12 <> 13 |", or "| 0.000 <> 0.014 |" when the whole capture is shorter than the interval.
interval = re.compile(r'^\|\s*(\d+)(?:\.\d+)?\s*<>\s*(?:[\d.]+|Dur)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|')


def span_seconds(path):
    run = subprocess.run(['capinfos', '-M', '-T', '-r', '-u', path], capture_output=True, text=True, timeout=300)
    # The last column, e.g. "89.936777", "n/a", or "-3116215213.-00058" for time going backwards.
    duration = re.match(r'-?\d+', run.stdout.strip().split('\t')[-1])
    return abs(int(duration.group(0))) if duration else 0.0


def filtered_frames(path):
    run = subprocess.run(['tshark', '-n', '-r', path, '-Y', FILTER, '-T', 'fields', '-e', 'frame.len'],
                         capture_output=True, text=True, timeout=300)
    lengths = [int(v) for v in run.stdout.split()]
    return len(lengths), sum(lengths)


def io_stat(name):
    path = os.path.join(root, name)
    if span_seconds(path) > MAX_SPAN_S:
        return f'{name}\tspan\tspan\tspan\tspan'
    # Streamed, not captured: a capture whose time jumps far has one output line per empty interval.
    tshark = subprocess.Popen(['tshark', '-n', '-r', path, '-q', '-z', f'io,stat,1,{FILTER}'],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=limit_memory)
    lines = []
    frames = 0
    size = 0
    printed = 0
    for line in tshark.stdout:
        printed += 1
        if printed > MAX_OUTPUT_LINES:
            tshark.kill()
            tshark.wait()
            return f'{name}\tspan\tspan\tspan\tspan'
        m = interval.match(line)
        if m is None or m.group(2) == '0':
            continue
        lines.append(f'{m.group(1)} {m.group(2)} {m.group(3)}')
        frames += int(m.group(2))
        size += int(m.group(3))
    if tshark.wait() != 0:
        return f'{name}\tspan\tspan\tspan\tspan' if tshark.returncode < 0 else f'{name}\t-\t-\t-\t-'
    if not lines:
        # tshark prints no interval for a capture of duration 0 (one frame, or all at one time):
        # its frames are interval 0's.
        frames, size = filtered_frames(path)
        if frames > 0:
            lines.append(f'0 {frames} {size}')
    digest = hashlib.sha256('\n'.join(lines).encode()).hexdigest()[:16]
    return f'{name}\t{len(lines)}\t{frames}\t{size}\t{digest}'


print_table('file\tintervals\tframes\tbytes\tdigest', io_stat, capture_files(root))
