"""The main job: the demo pipeline end to end on the embedded default (``make demo``)."""
