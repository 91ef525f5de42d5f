#!/usr/bin/env python3
"""Runs a command and SIGKILLs it at a random moment: chaos for tests/netns/chaos.sh.

usage: chaos_kill.py MAX_MS [--term-when-logged FILE TEXT] -- CMD...
Without --term-when-logged: kills CMD a uniformly random time in [0, MAX_MS] ms after
it starts. With it: waits until FILE holds TEXT (CMD's log), sends SIGTERM, then kills
it a random time in [0, MAX_MS] ms after that. Prints "killed" or "finished" and the
milliseconds it ran; `calibrate` as MAX_MS runs CMD to the end and prints how long that
took (ms), for choosing MAX_MS. Everything is bounded: 60 s at most.
"""
import random, signal, subprocess, sys, time

def main():
    args = sys.argv[1:]
    max_ms = args.pop(0)
    term = None
    if args[0] == "--term-when-logged":
        term = (args[1], args[2])
        args = args[3:]
    assert args.pop(0) == "--"
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if term is None else None)
    t0 = time.monotonic()
    if term:
        deadline = t0 + 60
        while time.monotonic() < deadline:
            try:
                if term[1] in open(term[0]).read():
                    break
            except FileNotFoundError:
                pass
            if p.poll() is not None:
                print("finished", int((time.monotonic() - t0) * 1000)); return
            time.sleep(0.005)
        p.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
    if max_ms == "calibrate":
        p.wait(timeout=60)
        print(int((time.monotonic() - t0) * 1000)); return
    delay = random.uniform(0, float(max_ms)) / 1000
    try:
        p.wait(timeout=delay)
        print("finished", int((time.monotonic() - t0) * 1000))
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()
        print("killed", int((time.monotonic() - t0) * 1000))

main()
