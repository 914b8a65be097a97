//! Unit tests of the pure parts: excerpts of realistic logs, objects to facts, rendering and
//! truncation of a context built from data.

mod excerpt;
mod fixture;
mod objects;
mod render;
