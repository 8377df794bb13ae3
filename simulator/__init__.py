"""``calltrail simulate``: realistic, signed Plivo traffic against any calltrail deployment."""
