"""Training: losses and output heads, the loop, schedule and distributed set-up."""
