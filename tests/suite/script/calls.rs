//! Many calls in one script (filled in once SYS's wrappers are merged).
