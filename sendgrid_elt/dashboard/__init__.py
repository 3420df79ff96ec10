"""The self-contained HTML dashboard built from the utilization marts."""
