"""The bottom layer: errors, registries, hashing, atomic writes, JSON files, paths, images, the device and the pair-set
format. It imports nothing else of the project, so every other package can stand on it."""
