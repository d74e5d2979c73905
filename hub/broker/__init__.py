"""hub.broker"""
