"""Process API: loaders, identity stitching and derived views over canonical models."""
