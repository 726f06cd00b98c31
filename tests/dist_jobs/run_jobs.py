"""Runs several job scripts in one `fw run` launch (each launch costs seconds on 2 cores):
`run_jobs.py job.py [args...] -- job2.py [args...]`."""
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
argv, jobs = sys.argv[1:], [[]]
for a in argv:
    if a == "--":
        jobs.append([])
    else:
        jobs[-1].append(a)
for job in jobs:
    sys.argv = [os.path.join(here, job[0])] + job[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
