"""Reads a TensorBoard log directory with tensorboard's own EventAccumulator and prints
{"file_versions": [...], "scalars": {tag: [[step, value], ...]}} as JSON (used by train_metrics_test)."""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from pathlib import Path


def main():
    logdir = sys.argv[1]
    acc = event_accumulator.EventAccumulator(logdir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    versions = []
    for f in sorted(Path(logdir).glob("*tfevents*")):
        for event in event_file_loader.LegacyEventFileLoader(str(f)).Load():
            if event.HasField("file_version"):
                versions.append(event.file_version)
    print(json.dumps({"file_versions": versions, "scalars": scalars}))


if __name__ == "__main__":
    main()
