"""Backplate's live app: camera capture, on-screen buttons, capture storage and the segmentation view."""
