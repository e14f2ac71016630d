"""Writes a GPU tuning record by hand (test/cli/tune_gpu.test): the spec D=16 H=64 N=4 with bias,
the projection in blocks of 128 threads x 2 rows and the step in 32 threads x 4 rows, both the
own GPU schedule, for TARGET: a Halide target string, or @FILE for the target another record
names (the opencl target's string depends on this machine's CPU). With SCHEDULE, both kernels
take that autoscheduler instead of the own schedule.

usage: gpu_record.py TARGET|@RECORD OUT [SCHEDULE]"""
import json
import sys

target, out = sys.argv[1], sys.argv[2]
schedule = sys.argv[3] if len(sys.argv) > 3 else "own"
if target.startswith("@"):
    target = json.load(open(target[1:]))["target"]
record = {
    "gru_gen_tuning_record": 1,
    "target": target,
    "spec": {"input_size": 16, "hidden_size": 64, "batch": 4, "has_bias": True},
    "machine": {"cpu": "by hand"},
    "choice": {
        "projection": {"schedule": schedule, "threads": 128, "rows": 2},
        "step": {"schedule": schedule, "threads": 32, "rows": 4},
    },
}
with open(out, "w") as f:
    json.dump(record, f)
