//! Alert rules over the monitoring windows (filled in next).
