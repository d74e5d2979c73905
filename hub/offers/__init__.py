"""hub.offers"""
