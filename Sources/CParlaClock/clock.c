// The cycle counter is read by inline functions of the header (CParlaClock.h).
