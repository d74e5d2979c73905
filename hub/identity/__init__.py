"""hub.identity"""
