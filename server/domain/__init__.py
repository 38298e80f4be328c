"""The domain's own words and rules, below everything else: types, job specs, validation of what callers send, the errors the core raises."""
