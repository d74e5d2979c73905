"""hub.ingest"""
