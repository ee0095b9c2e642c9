"""Inference: the link to pc_node, the fair job queue for the one GPU, and the AI status."""
