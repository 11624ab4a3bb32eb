//! xlvs-lab
