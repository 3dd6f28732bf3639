package main

// The `-events` mode: go-marathon's SSE subscription (AddEventsListener) must deliver the
// deployment and status update events of an app change. The program subscribes, creates an
// app, scales it, deletes it, and checks what arrives decodes into go-marathon's types with
// the fields a consumer reads.

import (
	"flag"
	"fmt"
	"net/http"
	"time"

	marathon "github.com/gambol99/go-marathon"
)

var eventsMode = flag.Bool("events", false, "check the SSE event stream instead of the app cycle")

type eventCheck struct {
	client  marathon.Marathon
	events  marathon.EventsChannel
	appID   string
	timeout time.Duration
}

// await reads events until `match` accepts one, failing after the timeout.
func (e *eventCheck) await(what string, match func(*marathon.Event) bool) *marathon.Event {
	deadline := time.After(e.timeout)
	for {
		select {
		case event := <-e.events:
			if match(event) {
				step(what, event.Name)
				return event
			}
		case <-deadline:
			fail("no %s within %s", what, e.timeout)
		}
	}
}

func (e *eventCheck) deploymentSucceeded(id string) func(*marathon.Event) bool {
	return func(event *marathon.Event) bool {
		success, ok := event.Event.(*marathon.EventDeploymentSuccess)
		return ok && success.ID == id && success.Plan != nil && success.Plan.ID == id
	}
}

func (e *eventCheck) statusUpdate(state string) func(*marathon.Event) bool {
	return func(event *marathon.Event) bool {
		update, ok := event.Event.(*marathon.EventStatusUpdate)
		return ok && update.AppID == e.appID && update.TaskStatus == state && update.TaskID != ""
	}
}

func (e *eventCheck) run() (err error) {
	defer asFailure(&err)
	instances := 1
	app := marathon.NewDockerApplication().Name(e.appID).CPU(0.01).Memory(16).Count(instances)
	app.Container.Docker.Container("docker.io/library/nginx:1.25-alpine")
	created, err := e.client.CreateApplication(app)
	if err != nil {
		fail("CreateApplication: %v", err)
	}
	if len(created.Deployments) == 0 {
		fail("the created app names no deployment")
	}
	id := created.Deployments[0]["id"]
	e.await("deployment_info of the create", func(event *marathon.Event) bool {
		info, ok := event.Event.(*marathon.EventDeploymentInfo)
		return ok && info.Plan != nil && info.Plan.ID == id && len(info.Plan.Steps) > 0 &&
			info.CurrentStep != nil && len(info.CurrentStep.Actions) > 0
	})
	e.await("status_update_event TASK_RUNNING", e.statusUpdate("TASK_RUNNING"))
	e.await("deployment_success of the create", e.deploymentSucceeded(id))

	deployment, err := e.client.ScaleApplicationInstances(e.appID, 2, false)
	if err != nil {
		fail("ScaleApplicationInstances: %v", err)
	}
	e.await("deployment_success of the scale", e.deploymentSucceeded(deployment.DeploymentID))

	deleted, err := e.client.DeleteApplication(e.appID, false)
	if err != nil {
		fail("DeleteApplication: %v", err)
	}
	e.await("app_terminated_event", func(event *marathon.Event) bool {
		terminated, ok := event.Event.(*marathon.EventAppTerminated)
		return ok && terminated.AppID == e.appID
	})
	e.await("deployment_success of the delete", e.deploymentSucceeded(deleted.DeploymentID))
	e.await("status_update_event TASK_KILLED", e.statusUpdate("TASK_KILLED"))
	return nil
}

// runEvents is the `-events` mode's main.
func runEvents(config marathon.Config, appID string, timeout time.Duration) error {
	config.EventsTransport = marathon.EventsTransportSSE
	// A stream never ends: go-marathon refuses an SSE client with a global timeout.
	config.HTTPSSEClient = &http.Client{}
	client, err := marathon.NewClient(config)
	if err != nil {
		return fmt.Errorf("creating the client: %v", err)
	}
	filter := marathon.EventIDStatusUpdate | marathon.EventIDDeploymentInfo |
		marathon.EventIDDeploymentSuccess | marathon.EventIDDeploymentStepSuccess |
		marathon.EventIDAppTerminated
	events, err := client.AddEventsListener(filter)
	if err != nil {
		return fmt.Errorf("AddEventsListener: %v", err)
	}
	defer client.RemoveEventsListener(events)
	step("AddEventsListener", "subscribed over SSE")
	check := &eventCheck{client: client, events: events, appID: appID, timeout: timeout}
	return check.run()
}
