#!/usr/bin/env python3
"""Writes test-data/realcaps-tcpdump-filters.tsv: how many packets `tcpdump -r FILE -w OUT EXPR`
keeps for twenty common filter expressions, on every capture under ../shared/data/realcaps that
capinfos and tcpdump both read (test-data/realcaps-capinfos.tsv); the oracle table of
src/packet/filter-realcaps-table.test.ts.

    python3 test-data/make-realcaps-tcpdump-filters.py [REALCAPS] > test-data/realcaps-tcpdump-filters.tsv

One row per capture: its name, then one column per expression (the header names them): the count,
or `-` where tcpdump refuses the expression for the file's link type.
"""
import os
import struct
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

from realcaps_files import realcaps_root

FILTERS = ["tcp", "udp", "icmp", "ip6", "arp", "port 53", "tcp port 80", "udp and not port 53", "vlan",
           "ip and ip[8] < 64", "icmp6", "ip multicast", "less 100", "greater 1000",
           "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "ip proto 47", "net 10.0.0.0/8", "ip6 and tcp",
           "udp portrange 5000-6000", "ip[6:2] & 0x3fff != 0"]

root = realcaps_root()
table = os.path.join(os.path.dirname(__file__), 'realcaps-capinfos.tsv')
rows = [line.rstrip('\n').split('\t') for line in open(table)][1:]
files = [r[0] for r in rows if r[2] == 'ok' and r[3] == 'ok']
work = tempfile.mkdtemp(prefix='qoelab-tcpdump-filters-')


def packets(path: str) -> int:
    """Records in the pcap tcpdump -w wrote."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return 0
    order = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    count, p = 0, 24
    while p + 16 <= len(data):
        p += 16 + struct.unpack(order + 'I', data[p + 8:p + 12])[0]
        count += 1
    return count


def kept(job):
    name, expression = job
    fd, out = tempfile.mkstemp(suffix='.pcap', dir=work)
    os.close(fd)
    run = subprocess.run(['tcpdump', '-r', os.path.join(root, name), '-w', out, '--', expression],
                         capture_output=True, text=True)
    count = str(packets(out)) if run.returncode == 0 else '-'
    os.remove(out)
    return count


print('\t'.join(['file', *FILTERS]))
with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    for name in files:
        print('\t'.join([name, *pool.map(kept, [(name, e) for e in FILTERS])]))
os.rmdir(work)
