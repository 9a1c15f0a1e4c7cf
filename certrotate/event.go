package certrotate

import (
	"context"
	"log/slog"
	"time"
)

// EventKind is the kind of an [Event]. Events and the report's step statuses share
// one vocabulary (DESIGN §8).
type EventKind string

// The event kinds. A step is planned by Build, then started, then exactly one of
// applied, skipped (its Check found it done) or failed; rolled_back follows applied
// when a later failure undoes it.
const (
	EventPlanned    EventKind = "planned"
	EventStarted    EventKind = "started"
	EventApplied    EventKind = "applied"
	EventSkipped    EventKind = "skipped"
	EventFailed     EventKind = "failed"
	EventRolledBack EventKind = "rolled_back"
)

// Event reports the progress of one step to [Config.OnEvent] and to the logger.
type Event struct {
	Kind   EventKind
	Time   time.Time // from Config.Now
	Step   string    // the step's catalogue name
	Target string
	Action Action
	// Duration is how long the step took, from started to this event; zero for
	// planned and started.
	Duration time.Duration
	// Detail says why: the planned reason, why a step was skipped, or what failed.
	Detail string
	// Err is the failure of a failed event, a *StepError.
	Err error
}

// emit sends ev to OnEvent and the logger.
func (c *Config) emit(ctx context.Context, ev Event) {
	level := slog.LevelInfo
	switch ev.Kind {
	case EventFailed:
		level = slog.LevelError
	case EventRolledBack:
		level = slog.LevelWarn
	case EventPlanned, EventStarted:
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("step", ev.Step),
		slog.String("target", ev.Target),
		slog.String("action", string(ev.Action)),
	}
	if ev.Kind != EventPlanned && ev.Kind != EventStarted {
		attrs = append(attrs, slog.Int64("duration_ms", ev.Duration.Milliseconds()))
	}
	if ev.Detail != "" {
		attrs = append(attrs, slog.String("detail", ev.Detail))
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.String("error", ev.Err.Error()))
	}
	c.logger().LogAttrs(ctx, level, "certrotate: step "+string(ev.Kind), attrs...)
	if c.OnEvent != nil {
		c.OnEvent(ev)
	}
}
