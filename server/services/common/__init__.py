"""What every feature of the service layer uses: the errors it refuses with, query shapes that
behave the same on MongoDB and the embedded server, shared counters."""
