#!/usr/bin/env python3
"""usage: rss.py PID -> prints 'RSS_KB HWM_KB': VmRSS and VmHWM summed over PID and its descendants."""
import os
import sys


def children(pid):
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0])
    except OSError:
        pass
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


todo, rss, hwm = [int(sys.argv[1])], 0, 0
while todo:
    pid = todo.pop()
    r, h = status(pid)
    rss, hwm = rss + r, hwm + h
    todo += children(pid)
print(rss, hwm)
