"""hub.rules"""
