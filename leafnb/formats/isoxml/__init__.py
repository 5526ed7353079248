"""ISO 11783-10 TASKDATA (ISOXML): document, device model, binary time logs, the reader."""
