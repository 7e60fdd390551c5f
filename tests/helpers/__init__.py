"""Helpers the tests share: running the program, calls from the shipped flowcharts,
terminals, browsers, web desks, hand-off servers, probes and Windows events."""
