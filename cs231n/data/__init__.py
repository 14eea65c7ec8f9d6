"""What the project reads from outside: the asset registry, downloads, archives and the IDX reader."""
