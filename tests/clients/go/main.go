// Command marathon-cycle drives a full Marathon app cycle through the real go-marathon client.
//
// Every answer is checked; the first wrong one ends the run with exit code 1 and a message
// saying what was expected. One line is printed per step. Waits end on the server's own state
// (go-marathon's WaitOnDeployment / WaitOnApplication and the app's tasks), never on a fixed sleep.
//
//	marathon-cycle -url http://127.0.0.1:8080 [-user U -password P]
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	marathon "github.com/gambol99/go-marathon"
)

const (
	imageV1 = "docker.io/library/nginx:1.25-alpine"
	imageV2 = "docker.io/library/nginx:1.27-alpine"
)

var timestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// failure is a wrong answer from the server.
type failure struct{ msg string }

func (f failure) Error() string { return f.msg }

// asFailure, deferred by a run, makes a failure raised by fail or expect the run's error
// (any other panic goes on).
func asFailure(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(failure)
		if !ok {
			panic(r)
		}
		*err = f
	}
}

func fail(format string, args ...interface{}) { panic(failure{fmt.Sprintf(format, args...)}) }

func expect(ok bool, format string, args ...interface{}) {
	if !ok {
		fail(format, args...)
	}
}

// errCodes names go-marathon's APIError codes, which stand for HTTP statuses.
var errCodes = map[int]string{
	marathon.ErrCodeBadRequest:       "ErrCodeBadRequest (400)",
	marathon.ErrCodeUnauthorized:     "ErrCodeUnauthorized (401)",
	marathon.ErrCodeForbidden:        "ErrCodeForbidden (403)",
	marathon.ErrCodeNotFound:         "ErrCodeNotFound (404)",
	marathon.ErrCodeDuplicateID:      "ErrCodeDuplicateID (409 without deployments)",
	marathon.ErrCodeAppLocked:        "ErrCodeAppLocked (409 with deployments)",
	marathon.ErrCodeInvalidBean:      "ErrCodeInvalidBean (422)",
	marathon.ErrCodeServer:           "ErrCodeServer (5xx)",
	marathon.ErrCodeUnknown:          "ErrCodeUnknown (other status)",
	marathon.ErrCodeMethodNotAllowed: "ErrCodeMethodNotAllowed (405)",
}

// describe says which status an APIError stands for; its message alone may be empty.
func describe(err error) string {
	if err == nil {
		return "no error"
	}
	var apiErr *marathon.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("%s: %v", errCodes[apiErr.ErrCode], err)
	}
	return err.Error()
}

// must ends the run when a client call returned an error.
func must(what string, err error) {
	if err != nil {
		fail("%s: the client returned an error: %s", what, describe(err))
	}
}

func step(name, detail string) {
	if detail != "" {
		name += ": " + detail
	}
	fmt.Printf("ok   %s\n", name)
}

type cycle struct {
	client       marathon.Marathon
	appID        string
	timeout      time.Duration
	firstVersion string
	versionsSeen []string // `version` of every deployment result, in order
	observed     int      // running deployments of the app seen and checked
}

func main() {
	rawURL := flag.String("url", "", "Marathon URL, e.g. http://127.0.0.1:8080")
	user := flag.String("user", "", "HTTP basic auth user")
	password := flag.String("password", "", "HTTP basic auth password")
	appID := flag.String("app-id", "/marathon-clients/go", "app id to create and delete")
	timeout := flag.Duration("timeout", 180*time.Second, "how long each deployment may take")
	flag.Parse()
	if *rawURL == "" {
		fmt.Fprintln(os.Stderr, "usage: marathon-cycle -url URL [-user U -password P]")
		os.Exit(2)
	}
	fmt.Printf("go-marathon against %s\n", *rawURL)
	config := marathon.NewDefaultConfig()
	config.URL = *rawURL
	config.HTTPBasicAuthUser = *user
	config.HTTPBasicPassword = *password
	config.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	if *eventsMode {
		if err := runEvents(config, *appID, *timeout); err != nil {
			fmt.Printf("FAIL %v\n", err)
			os.Exit(1)
		}
		fmt.Println("ok   events passed")
		return
	}
	client, err := marathon.NewClient(config)
	if err != nil {
		fmt.Printf("FAIL creating the client: %v\n", err)
		os.Exit(1)
	}
	c := &cycle{client: client, appID: *appID, timeout: *timeout}
	if err := c.run(); err != nil {
		fmt.Printf("FAIL %v\n", err)
		os.Exit(1)
	}
	fmt.Println("ok   full cycle passed")
}

func (c *cycle) run() (err error) {
	defer asFailure(&err)
	c.absent()
	c.create()
	c.listAndGet()
	c.scale(3)
	c.scale(2)
	c.updateImage()
	c.versions()
	c.rollback()
	c.restart()
	c.killWithScale()
	c.noDeploymentsLeft()
	c.delete()
	return nil
}

// ---------------------------------------------------------------------------------------------
// Waiting on the server's state

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkDeployments lists deployments and validates the shape of those affecting the app.
func (c *cycle) checkDeployments() []*marathon.Deployment {
	deployments, err := c.client.Deployments()
	must("Deployments", err)
	var mine []*marathon.Deployment
	for _, d := range deployments {
		if !contains(d.AffectedApps, c.appID) {
			continue
		}
		expect(d.TotalSteps >= 1 && len(d.Steps) == d.TotalSteps,
			"deployment %s: totalSteps %d, %d steps", d.ID, d.TotalSteps, len(d.Steps))
		expect(d.CurrentStep >= 0 && d.CurrentStep <= d.TotalSteps,
			"deployment %s: currentStep %d outside 0..%d", d.ID, d.CurrentStep, d.TotalSteps)
		expect(timestamp.MatchString(d.Version),
			"deployment %s: version %q is not Marathon's timestamp format", d.ID, d.Version)
		for _, s := range d.Steps {
			for _, a := range s {
				expect(a.Action != "" && a.App == c.appID,
					"deployment %s: step action %q on app %q", d.ID, a.Action, a.App)
			}
		}
		c.observed++
		mine = append(mine, d)
	}
	return mine
}

// app fetches the app with its tasks and counts embedded.
func (c *cycle) app() *marathon.Application {
	app, err := c.client.ApplicationBy(c.appID, &marathon.GetAppOpts{
		Embed: []string{"app.tasks", "app.counts", "app.deployments", "app.lastTaskFailure"},
	})
	must("ApplicationBy", err)
	expect(app != nil, "ApplicationBy: the answer has no `app` object")
	return app
}

func taskIDs(app *marathon.Application) []string {
	ids := []string{}
	for _, t := range app.Tasks {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	return ids
}

func instances(app *marathon.Application) int {
	if app.Instances == nil {
		return -1
	}
	return *app.Instances
}

// settled says whether the app runs exactly n tasks and has no deployment.
func settled(app *marathon.Application, n int) bool {
	running := 0
	for _, t := range app.Tasks {
		if t.State == "TASK_RUNNING" {
			running++
		}
	}
	return instances(app) == n && app.TasksRunning == n && len(app.Tasks) == n &&
		running == n && len(app.Deployments) == 0
}

// waitDeployed waits with go-marathon's own waits, then until the app runs n tasks.
func (c *cycle) waitDeployed(what string, deploymentID string, n int) *marathon.Application {
	c.checkDeployments()
	must(what+": WaitOnDeployment "+deploymentID, c.client.WaitOnDeployment(deploymentID, c.timeout))
	must(what+": WaitOnApplication", c.client.WaitOnApplication(c.appID, c.timeout))
	deadline := time.Now().Add(c.timeout)
	for {
		app := c.app()
		if settled(app, n) {
			return app
		}
		if time.Now().After(deadline) {
			fail("%s: after %v instances=%d tasksRunning=%d tasks=%v deployments=%v, want %d",
				what, c.timeout, instances(app), app.TasksRunning, taskIDs(app), app.Deployments, n)
		}
		time.Sleep(500 * time.Millisecond) // poll interval; the exit condition is the server's state
	}
}

// deploymentResult checks a `{deploymentId, version}` answer and records its version.
func (c *cycle) deploymentResult(what string, d *marathon.DeploymentID, err error) string {
	must(what, err)
	expect(d != nil && d.DeploymentID != "", "%s: no deploymentId in the answer", what)
	expect(timestamp.MatchString(d.Version),
		"%s: version %q is not Marathon's timestamp format", what, d.Version)
	c.versionsSeen = append(c.versionsSeen, d.Version)
	return d.DeploymentID
}

func (c *cycle) expectVersion(what string, app *marathon.Application) {
	want := c.versionsSeen[len(c.versionsSeen)-1]
	expect(app.Version == want, "%s: app version %q, the deployment answered %q", what, app.Version, want)
}

func image(app *marathon.Application) string {
	if app.Container == nil || app.Container.Docker == nil {
		return "<no container.docker>"
	}
	return app.Container.Docker.Image
}

func disjoint(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------------
// The cycle

func (c *cycle) absent() {
	_, err := c.client.Application(c.appID)
	var apiErr *marathon.APIError
	expect(errors.As(err, &apiErr) && apiErr.ErrCode == marathon.ErrCodeNotFound,
		"Application before create: want a not-found APIError, got %v", describe(err))
	// Marathon's body is {"message": "App '/id' does not exist"}, not a bare unknown-route 404.
	expect(strings.Contains(describe(err), c.appID),
		"Application before create: the 404 message %q does not name the app", err.Error())
	step("Application before create", "404 ErrCodeNotFound: "+err.Error())
}

func (c *cycle) definition() *marathon.Application {
	app := marathon.NewDockerApplication().Name(c.appID).CPU(0.1).Memory(32).Count(2)
	app.AddLabel("suite", "clients-go")
	app.Container.Docker.Container(imageV1)
	app.Container.ExposePort(marathon.PortMapping{Name: "http", ContainerPort: 80, Protocol: "tcp"})
	app.SetNetwork("", marathon.BridgeNetworkMode)
	check := marathon.NewDefaultHealthCheck().SetPath("/")
	app.AddHealthCheck(*check)
	return app
}

func (c *cycle) create() {
	created, err := c.client.CreateApplication(c.definition())
	must("CreateApplication", err)
	expect(created.Container != nil, "CreateApplication: the answer has no `container`")
	expect(created.ID == c.appID, "CreateApplication: id %q", created.ID)
	expect(instances(created) == 2, "CreateApplication: instances %d", instances(created))
	expect(image(created) == imageV1, "CreateApplication: image %q", image(created))
	expect(created.Container.PortMappings != nil && len(*created.Container.PortMappings) == 1 &&
		(*created.Container.PortMappings)[0].ContainerPort == 80,
		"CreateApplication: container.portMappings %+v", created.Container.PortMappings)
	expect(created.HealthChecks != nil && len(*created.HealthChecks) == 1,
		"CreateApplication: health checks %+v", created.HealthChecks)
	ids := created.DeploymentIDs()
	expect(len(ids) == 1 && ids[0].DeploymentID != "",
		"CreateApplication: deployments %v", created.Deployments)
	expect(timestamp.MatchString(created.Version),
		"CreateApplication: version %q is not Marathon's timestamp format", created.Version)
	c.firstVersion = created.Version
	c.versionsSeen = append(c.versionsSeen, created.Version)
	step("CreateApplication", fmt.Sprintf("deployment %s, version %s", ids[0].DeploymentID, created.Version))

	_, err = c.client.CreateApplication(c.definition())
	var apiErr *marathon.APIError
	expect(errors.As(err, &apiErr) && apiErr.ErrCode == marathon.ErrCodeDuplicateID,
		"CreateApplication again: want ErrCodeDuplicateID (409 without deployments), got %v", describe(err))
	step("CreateApplication again", "409 ErrCodeDuplicateID")

	app := c.waitDeployed("CreateApplication", ids[0].DeploymentID, 2)
	c.expectVersion("CreateApplication", app)
	step("WaitOnDeployment + WaitOnApplication after create", fmt.Sprintf("tasks %v", taskIDs(app)))
}

func (c *cycle) listAndGet() {
	query := url.Values{}
	query.Add("embed", "apps.tasks")
	query.Add("embed", "apps.counts")
	query.Add("embed", "apps.deployments")
	query.Add("embed", "apps.readiness")
	apps, err := c.client.Applications(query)
	must("Applications(embed)", err)
	var mine []marathon.Application
	for _, a := range apps.Apps {
		if a.ID == c.appID {
			mine = append(mine, a)
		}
	}
	expect(len(mine) == 1, "Applications(embed): %d entries for %s", len(mine), c.appID)
	expect(len(mine[0].Tasks) == 2 && mine[0].TasksRunning == 2,
		"Applications(embed): tasks %d, tasksRunning %d", len(mine[0].Tasks), mine[0].TasksRunning)
	step("Applications embed apps.tasks/counts/deployments/readiness", fmt.Sprintf("%d apps", len(apps.Apps)))

	labelled, err := c.client.Applications(url.Values{"label": {"suite==clients-go"}})
	must("Applications(label)", err)
	found := false
	for _, a := range labelled.Apps {
		found = found || a.ID == c.appID
		expect(a.Labels != nil && (*a.Labels)["suite"] == "clients-go",
			"Applications(label=suite==clients-go) also lists %s (labels %v)", a.ID, a.Labels)
	}
	expect(found, "Applications(label=suite==clients-go) lacks %s", c.appID)
	step("Applications label filter", c.appID)

	app := c.app()
	expect(len(app.Tasks) == 2, "ApplicationBy(embed): %d tasks", len(app.Tasks))
	for _, t := range app.Tasks {
		expect(t.ID != "" && t.Host != "", "ApplicationBy: task without id or host: %+v", t)
		expect(t.AppID == c.appID, "ApplicationBy: task appId %q", t.AppID)
		expect(t.State == "TASK_RUNNING", "ApplicationBy: task state %q", t.State)
		expect(t.StagedAt != "" && t.StartedAt != "", "ApplicationBy: task %s without stagedAt/startedAt", t.ID)
	}
	step("ApplicationBy with embedded tasks", strings.Join(taskIDs(app), ", "))
}

func (c *cycle) scale(n int) {
	d, err := c.client.ScaleApplicationInstances(c.appID, n, false)
	id := c.deploymentResult("ScaleApplicationInstances", d, err)
	app := c.waitDeployed("ScaleApplicationInstances", id, n)
	c.expectVersion("ScaleApplicationInstances", app)
	step(fmt.Sprintf("ScaleApplicationInstances %d", n), fmt.Sprintf("deployment %s, tasks %v", id, taskIDs(app)))
}

func (c *cycle) updateImage() {
	app, err := c.client.Application(c.appID)
	must("Application", err)
	expect(app != nil && app.Container != nil && app.Container.Docker != nil,
		"Application: the answer has no `app.container.docker` object")
	before := taskIDs(app)
	// The fetched app goes back as it is, read-only fields included, as deploy tools do;
	// only `version` is cleared (Marathon reads a body with it as a rollback).
	app.Version = ""
	app.Container.Docker.Image = imageV2
	d, err := c.client.UpdateApplication(app, false)
	id := c.deploymentResult("UpdateApplication", d, err)
	app = c.waitDeployed("UpdateApplication", id, 2)
	c.expectVersion("UpdateApplication", app)
	expect(image(app) == imageV2, "UpdateApplication: image %q", image(app))
	expect(disjoint(before, taskIDs(app)), "UpdateApplication: tasks %v survived (now %v)", before, taskIDs(app))
	for _, t := range app.Tasks {
		expect(t.Version != "", "UpdateApplication: task %s has no version", t.ID)
		v, err := c.client.ApplicationByVersion(c.appID, t.Version)
		must("ApplicationByVersion "+t.Version, err)
		expect(image(v) == imageV2, "UpdateApplication: task %s runs version %s whose image is %q",
			t.ID, t.Version, image(v))
	}
	step("UpdateApplication image", fmt.Sprintf("deployment %s, tasks replaced", id))
}

func (c *cycle) versions() {
	versions, err := c.client.ApplicationVersions(c.appID)
	must("ApplicationVersions", err)
	for _, v := range versions.Versions {
		expect(timestamp.MatchString(v), "ApplicationVersions: %q is not Marathon's timestamp format", v)
	}
	for _, v := range c.versionsSeen {
		has, err := c.client.HasApplicationVersion(c.appID, v)
		must("HasApplicationVersion", err)
		expect(has, "ApplicationVersions %v lacks version %s answered earlier", versions.Versions, v)
	}
	first, err := c.client.ApplicationByVersion(c.appID, c.firstVersion)
	must("ApplicationByVersion(first)", err)
	expect(first != nil, "ApplicationByVersion(first): empty answer")
	expect(image(first) == imageV1 && instances(first) == 2,
		"ApplicationByVersion(first): image %q, instances %d", image(first), instances(first))
	step("ApplicationVersions", fmt.Sprintf("%d versions", len(versions.Versions)))
}

func (c *cycle) rollback() {
	d, err := c.client.SetApplicationVersion(c.appID, &marathon.ApplicationVersion{Version: c.firstVersion})
	id := c.deploymentResult("SetApplicationVersion", d, err)
	expect(d.Version != c.firstVersion, "SetApplicationVersion: answered the old version itself")
	app := c.waitDeployed("SetApplicationVersion", id, 2)
	c.expectVersion("SetApplicationVersion", app)
	expect(image(app) == imageV1, "SetApplicationVersion: image %q", image(app))
	step("SetApplicationVersion to the first version", fmt.Sprintf("deployment %s, new version %s", id, d.Version))
}

func (c *cycle) restart() {
	before := taskIDs(c.app())
	d, err := c.client.RestartApplication(c.appID, false)
	id := c.deploymentResult("RestartApplication", d, err)
	app := c.waitDeployed("RestartApplication", id, 2)
	c.expectVersion("RestartApplication", app)
	expect(disjoint(before, taskIDs(app)), "RestartApplication: tasks %v not replaced (now %v)", before, taskIDs(app))
	step("RestartApplication", fmt.Sprintf("deployment %s, tasks replaced", id))
}

func (c *cycle) killWithScale() {
	tasks := taskIDs(c.app())
	expect(len(tasks) == 2, "KillTask: want 2 tasks before, got %v", tasks)
	victim, survivor := tasks[0], tasks[1]
	// go-marathon derives the app from the task id and ignores the deployment it gets back.
	_, err := c.client.KillTask(victim, &marathon.KillTaskOpts{Scale: true})
	must("KillTask(scale) "+victim, err)
	deployments, err := c.client.ApplicationDeployments(c.appID)
	must("ApplicationDeployments", err)
	for _, d := range deployments {
		must("KillTask: WaitOnDeployment "+d.DeploymentID, c.client.WaitOnDeployment(d.DeploymentID, c.timeout))
	}
	deadline := time.Now().Add(c.timeout)
	for {
		app := c.app()
		if settled(app, 1) {
			expect(taskIDs(app)[0] == survivor, "KillTask(scale): tasks %v, want only %s (killed %s)",
				taskIDs(app), survivor, victim)
			break
		}
		if time.Now().After(deadline) {
			fail("KillTask(scale): after %v instances=%d tasks=%v, want 1 task %s",
				c.timeout, instances(app), taskIDs(app), survivor)
		}
		time.Sleep(500 * time.Millisecond) // poll interval; the exit condition is the server's state
	}
	step("KillTask scale=true", fmt.Sprintf("%s gone, instances 1, %s kept", victim, survivor))
}

func (c *cycle) noDeploymentsLeft() {
	observedBefore := c.observed
	mine := c.checkDeployments()
	expect(len(mine) == 0, "Deployments: finished deployments still listed for %s: %d", c.appID, len(mine))
	step("Deployments", fmt.Sprintf("none left for %s; %d running ones seen and checked", c.appID, observedBefore))
}

func (c *cycle) delete() {
	d, err := c.client.DeleteApplication(c.appID, false)
	id := c.deploymentResult("DeleteApplication", d, err)
	must("DeleteApplication: WaitOnDeployment", c.client.WaitOnDeployment(id, c.timeout))
	deadline := time.Now().Add(c.timeout)
	for {
		_, err := c.client.Application(c.appID)
		var apiErr *marathon.APIError
		if errors.As(err, &apiErr) && apiErr.ErrCode == marathon.ErrCodeNotFound {
			break
		}
		if time.Now().After(deadline) {
			fail("DeleteApplication: Application still answers %v after %v", describe(err), c.timeout)
		}
		time.Sleep(500 * time.Millisecond) // poll interval; the exit condition is the server's state
	}
	names, err := c.client.ListApplications(nil)
	must("ListApplications", err)
	expect(!contains(names, c.appID), "DeleteApplication: ListApplications still lists %s", c.appID)
	step("DeleteApplication", fmt.Sprintf("deployment %s, Application answers 404", id))
}
