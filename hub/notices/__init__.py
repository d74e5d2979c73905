"""hub.notices"""
