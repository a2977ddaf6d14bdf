"""Statistics from counts: intervals, disproportionality, no-risk shares, boroughs and funnels, bands, trends."""
