"""Reading and writing Backplate's files: atomic writes, the capture-set and portrait layouts, image files, caches."""
