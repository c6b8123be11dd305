// Package persist will hold midge's flash-friendly append-only log (sessions,
// subscriptions, retained and in-flight messages) and the bbolt store for
// admin data. Until it lands, all broker state is in memory and is lost on
// restart; see the project's issues for the design.
package persist
