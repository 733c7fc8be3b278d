#!/usr/bin/env python3
"""Stands in for nvidia-smi in tests: replays FAKE_SMI_FILE for --query-gpu; with FAKE_SMI_OLD=1 it rejects the
compute_cap field the way drivers before 510 do; FAKE_SMI_FAIL makes it fail like a machine with a broken driver."""

import os
import sys

args = " ".join(sys.argv[1:])
if os.environ.get("FAKE_SMI_FAIL"):
    print(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running."
    )
    sys.exit(9)
if os.environ.get("FAKE_SMI_OLD") and "compute_cap" in args:
    print('Field "compute_cap" is not a valid field to query.')
    print()
    print("Run 'nvidia-smi --help-query-gpu' for usage.")
    sys.exit(2)
with open(os.environ["FAKE_SMI_FILE"], encoding="utf-8") as fh:
    sys.stdout.write(fh.read())
