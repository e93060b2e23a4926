"""The embedded demo: a generated year of a small AI product's credit business."""
