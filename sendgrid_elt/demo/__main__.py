"""``python -m sendgrid_elt.demo``: the main job (see :mod:`sendgrid_elt.demo.main`)."""

from __future__ import annotations

import sys

from sendgrid_elt.demo.main import main

sys.exit(main())
