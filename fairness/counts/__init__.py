"""Rows into counts: the derived columns and flags, and the engines that count them."""
