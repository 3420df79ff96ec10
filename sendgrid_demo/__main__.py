"""``python -m sendgrid_demo``: the main job (see :mod:`sendgrid_demo.main`)."""

from __future__ import annotations

import sys

from sendgrid_demo.main import main

sys.exit(main())
