"""The standard point model: schema, units, normalisation, area and yield, summaries."""
