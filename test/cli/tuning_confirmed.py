"""Checks a tuning record's claim that a tuned library is never slower than the default: for each
kernel whose choice is not the first candidate measured (the default library's: the machine
model's tile on CPUs, the policy's autoscheduler on GPUs), the record must hold a confirmation
of that choice, timed again against the default and faster. Predicted records are not timed
and are not checked (test/cli/tune.test, tune_gpu.test).

usage: tuning_confirmed.py RECORD"""
import json
import sys

record = json.load(open(sys.argv[1]))
keys = ("schedule", "threads", "rows", "vectors")
errors = []
if record["method"] == "measured":
    for kernel, choice in record["choice"].items():
        choice = {k: v for k, v in choice.items() if k in keys}
        timed = [m for m in record["measurements"] if m["kernel"] == kernel]
        first = {k: v for k, v in timed[0].items() if k in keys}
        if choice == first:
            continue
        confirmed = [m for m in timed if m.get("confirm") and
                     {k: v for k, v in m.items() if k in keys} == choice]
        default = [m.get("model_seconds", m.get("default_seconds")) for m in confirmed]
        if not confirmed or not confirmed[0]["seconds"] < default[0]:
            errors.append("%s: %s chosen over the default %s without being timed again "
                          "against it" % (kernel, choice, first))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
