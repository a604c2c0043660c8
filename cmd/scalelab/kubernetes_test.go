package main

// deploy/k8s, checked on paper: no cluster runs where scalelab is
// developed, so this test renders every kustomization with kustomize's own
// library (krusty, the code inside "kubectl apply -k"), decodes every object
// strictly into the Kubernetes API's Go types (an unknown or misspelt field
// fails), and checks what a cluster would only show at run time: nginx's
// config is the lab's template rendered for this stack, every container has
// probes and resources, the app pods are one core each, services reach
// ports that exist, and every scalelab command in a manifest parses with
// this CLI. It lives in cmd/scalelab, a test of package main, because it
// needs the CLI's own command tree; kustomize and the API types are then
// test dependencies only, and the scalelab binary does not carry them.

import (
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/internal/supervisor"
	"github.com/scalelab/scalelab/stages"
	"github.com/scalelab/scalelab/stages/balanced"
	"github.com/scalelab/scalelab/stages/cached"
)

var updateK8s = flag.Bool("update", false, "rewrite deploy/k8s's nginx configs and style sheet from the lab's templates")

// k8sDir is deploy/k8s, from this package's folder.
var k8sDir = filepath.Join("..", "..", "deploy", "k8s")

// k8sGenerated heads every nginx config rendered into deploy/k8s.
const k8sGenerated = "# Generated from the lab's templates by go test ./cmd/scalelab -run Kubernetes -update: do not edit.\n"

// pendingFlags are flags a manifest may use before this CLI defines them:
// another change adds them, and until it is merged the test skips them,
// naming them. Once the CLI has a flag, it is parsed like any other.
var pendingFlags = map[string]string{
	"app-cpu":       "the modelled app's CPU per request (issue 15)",
	"app-start-cpu": "the modelled app's CPU at start (issue 15)",
}

// scalelabImage is the image every manifest runs scalelab from: the one the
// Dockerfile builds ("make image").
const scalelabImage = "scalelab"

// k8sObject is one rendered object, decoded into its API type.
type k8sObject struct {
	Kind, Name string
	Obj        any
}

// k8sBuild is what one kustomization renders.
type k8sBuild struct {
	Dir     string
	Objects []k8sObject
}

// decoders are the API types the manifests may use; any other kind fails,
// so a new kind gets a strict decoding here before it ships.
var decoders = map[string]func() any{
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/Pod":                                 func() any { return &corev1.Pod{} },
	"v1/PersistentVolumeClaim":               func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                           func() any { return &batchv1.Job{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

// k8sFS copies deploy/k8s into an in-memory file system under /k8s, with
// extra files (test-only kustomizations) added: the source tree is never
// written, and kustomize sees exactly the committed files.
func k8sFS(t *testing.T, extra map[string]string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(k8sDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(k8sDir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(filepath.Join("/k8s", rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range extra {
		if err := mem.WriteFile(filepath.Join("/k8s", name), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// render builds the kustomization in dir (relative to deploy/k8s) and
// decodes every object strictly.
func render(t *testing.T, mem filesys.FileSystem, dir string) k8sBuild {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, filepath.Join("/k8s", dir))
	if err != nil {
		t.Fatalf("kustomize build deploy/k8s/%s: %v", dir, err)
	}
	b := k8sBuild{Dir: dir}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		gvk := r.GetGvk()
		key := gvk.Version + "/" + gvk.Kind
		if gvk.Group != "" {
			key = gvk.Group + "/" + key
		}
		newObj, ok := decoders[key]
		if !ok {
			t.Errorf("deploy/k8s/%s: %s %s: no strict decoding for this kind in the test: add its API type to decoders", dir, key, r.GetName())
			continue
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(y, obj); err != nil {
			t.Errorf("deploy/k8s/%s: %s %s does not decode strictly: %v", dir, key, r.GetName(), err)
			continue
		}
		b.Objects = append(b.Objects, k8sObject{Kind: gvk.Kind, Name: r.GetName(), Obj: obj})
	}
	return b
}

// find returns the object of a kind whose name is name, or starts with
// name- (a generated ConfigMap's hash suffix).
func (b k8sBuild) find(kind, name string) any {
	for _, o := range b.Objects {
		if o.Kind == kind && (o.Name == name || kind == "ConfigMap" && strings.HasPrefix(o.Name, name+"-")) {
			return o.Obj
		}
	}
	return nil
}

// podSpec is an object's pod template, if it has one.
func podSpec(o k8sObject) (*corev1.PodSpec, map[string]string) {
	switch v := o.Obj.(type) {
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec, v.Spec.Template.Labels
	case *appsv1.StatefulSet:
		return &v.Spec.Template.Spec, v.Spec.Template.Labels
	case *batchv1.Job:
		return &v.Spec.Template.Spec, v.Spec.Template.Labels
	case *corev1.Pod:
		return &v.Spec, v.Labels
	}
	return nil, nil
}

func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

// k8sStages maps each overlay under overlays/ to the stage it runs: an
// overlay named "stage" + a stage's id runs that stage, and one that builds
// on another overlay (talk on stage3) runs that one's stage. Every stage
// with app servers behind nginx (stages.Balanced) must have its overlay.
func k8sStages(t *testing.T) map[string]stages.Stage {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(k8sDir, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stages.Stage{}
	bases := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if id, ok := strings.CutPrefix(e.Name(), "stage"); ok {
			st, found := stages.Find(id)
			if !found {
				t.Errorf("deploy/k8s/overlays/%s names no stage of the table (stages.All)", e.Name())
				continue
			}
			out[e.Name()] = st
			continue
		}
		b, err := os.ReadFile(filepath.Join(k8sDir, "overlays", e.Name(), "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k ktypes.Kustomization
		if err := yaml.Unmarshal(b, &k); err != nil {
			t.Fatalf("overlays/%s: %v", e.Name(), err)
		}
		for _, r := range k.Resources {
			if base, ok := strings.CutPrefix(r, "../"); ok && !strings.Contains(base, "/") {
				bases[e.Name()] = base
			}
		}
		if bases[e.Name()] == "" {
			t.Errorf("deploy/k8s/overlays/%s is neither stageID nor built on one (resources: ../stageID)", e.Name())
		}
	}
	for name, base := range bases {
		st, ok := out[base]
		if !ok {
			t.Errorf("deploy/k8s/overlays/%s builds on %s, which runs no stage", name, base)
			continue
		}
		out[name] = st
	}
	for _, st := range stages.All {
		if _, ok := out["stage"+st.ID]; st.Process == stages.Balanced && !ok {
			t.Errorf("stage %s (%s) has app servers behind nginx but no deploy/k8s/overlays/stage%s", st.ID, st.Name, st.ID)
		}
	}
	return out
}

// Every kustomization renders, every object decodes strictly, and what
// Kubernetes would only find out at run time is checked here.
func TestKubernetesManifests(t *testing.T) {
	overlays := k8sStages(t)
	names := make([]string, 0, len(overlays))
	for name := range overlays {
		names = append(names, name)
	}
	slices.Sort(names)
	// The autoscaler is a component an overlay adds: render it on the
	// first overlay, as a user's own overlay would.
	extra := map[string]string{"test-autoscale/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
		"resources: [../overlays/" + names[0] + "]\ncomponents: [../components/autoscale]\n"}
	mem := k8sFS(t, extra)

	var builds []k8sBuild
	for _, name := range names {
		dir := filepath.Join("overlays", name)
		b := render(t, mem, dir)
		if checkNginxConfig(t, b, overlays[name]) {
			mem = k8sFS(t, extra) // rewritten: render the files as they are now
			b = render(t, mem, dir)
			checkNginxConfig(t, b, overlays[name])
		}
		checkStack(t, b)
		if cm, _ := b.find("ConfigMap", "scalelab-stage").(*corev1.ConfigMap); cm == nil || cm.Name != "scalelab-stage" || cm.Data["STAGE"] != overlays[name].ID {
			t.Errorf("deploy/k8s/%s: the ConfigMap scalelab-stage (no hash suffix: the report Job reads it) must say STAGE=%s", b.Dir, overlays[name].ID)
		}
		builds = append(builds, b)
	}
	auto := render(t, mem, "test-autoscale")
	if hpa, ok := auto.find("HorizontalPodAutoscaler", "app").(*autoscalingv2.HorizontalPodAutoscaler); !ok {
		t.Error("components/autoscale adds no HorizontalPodAutoscaler app")
	} else if d, _ := auto.find("Deployment", hpa.Spec.ScaleTargetRef.Name).(*appsv1.Deployment); d == nil || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("the autoscaler scales %s %s, which the stack does not have", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
	}
	load := render(t, mem, "load")
	report := render(t, mem, "report")
	all := append(builds, load, report)
	for _, b := range all {
		checkContainers(t, b)
		checkServices(t, b)
		checkConfigMapRefs(t, b)
	}
	checkCommands(t, all)
	checkLoadAndReport(t, builds[0], load, report, all)
}

// checkNginxConfig compares the overlay's nginx ConfigMap with the lab's
// template rendered for this stack: nginx's port, the app Service, the
// memcached Service and nginx's mounts come from the rendered objects
// themselves. With -update it rewrites the files and says so (true).
func checkNginxConfig(t *testing.T, b k8sBuild, st stages.Stage) (rewritten bool) {
	t.Helper()
	nginx, _ := b.find("Deployment", "nginx").(*appsv1.Deployment)
	appSvc, _ := b.find("Service", "app").(*corev1.Service)
	conf, _ := b.find("ConfigMap", "nginx-conf").(*corev1.ConfigMap)
	if nginx == nil || appSvc == nil || conf == nil {
		t.Errorf("deploy/k8s/%s: no nginx Deployment, app Service or nginx-conf ConfigMap", b.Dir)
		return false
	}
	c := container(&nginx.Spec.Template.Spec, "nginx")
	if c == nil || len(c.Ports) == 0 {
		t.Errorf("deploy/k8s/%s: the nginx Deployment has no container nginx with a port", b.Dir)
		return false
	}
	stage := &balanced.Stage{Addr: strconv.Itoa(int(c.Ports[0].ContainerPort)),
		Instances: supervisor.Instances{Addrs: []string{fmt.Sprintf("app:%d", appSvc.Spec.Ports[0].Port)}}}
	files := map[string]string{}
	if st.Cache {
		mc, _ := b.find("Service", "memcached").(*corev1.Service)
		static, _ := b.find("ConfigMap", "nginx-static").(*corev1.ConfigMap)
		if mc == nil || static == nil {
			t.Errorf("deploy/k8s/%s: stage %s caches, but there is no memcached Service or nginx-static ConfigMap", b.Dir, st.ID)
			return false
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		if mounts["images"] == "" || mounts["static"] == "" {
			t.Errorf("deploy/k8s/%s: stage %s's nginx serves files, but mounts no images or static volume", b.Dir, st.ID)
			return false
		}
		stage.Template, stage.Vars = cached.Template, cached.Vars(fmt.Sprintf("memcached:%d", mc.Spec.Ports[0].Port), mounts["images"], mounts["static"])
		files["style.css"] = string(app.StyleSheet())
	}
	body, err := stage.Render()
	if err != nil {
		t.Fatal(err)
	}
	files["default.conf"] = k8sGenerated + body
	got := map[string]string{"default.conf": conf.Data["default.conf"]}
	if st.Cache {
		static, _ := b.find("ConfigMap", "nginx-static").(*corev1.ConfigMap)
		got["style.css"] = static.Data["style.css"]
	}
	var differ []string
	for name := range files {
		if got[name] != files[name] {
			differ = append(differ, name)
		}
	}
	if len(differ) == 0 {
		return false
	}
	slices.Sort(differ)
	if !*updateK8s {
		t.Errorf("deploy/k8s/%s: %s differ from what the lab renders for stage %s here (the template, app.StyleSheet): go test ./cmd/scalelab -run Kubernetes -update",
			b.Dir, strings.Join(differ, ", "), st.ID)
		return false
	}
	// -update: rewrite the overlay's own files (one built on another
	// overlay has none: they are rewritten with that overlay's).
	for _, name := range differ {
		path := filepath.Join(k8sDir, b.Dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
	}
	return true
}

// checkStack: the app pods model the talk's GIL, one core each.
func checkStack(t *testing.T, b k8sBuild) {
	t.Helper()
	d, _ := b.find("Deployment", "app").(*appsv1.Deployment)
	if d == nil {
		t.Errorf("deploy/k8s/%s: no app Deployment", b.Dir)
		return
	}
	c := container(&d.Spec.Template.Spec, "app")
	if c == nil {
		t.Errorf("deploy/k8s/%s: the app Deployment has no container app", b.Dir)
		return
	}
	one := resource.MustParse("1")
	if q := c.Resources.Limits[corev1.ResourceCPU]; q.Cmp(one) != 0 {
		t.Errorf("deploy/k8s/%s: an app pod's CPU limit is %s: one core, the talk's GIL", b.Dir, q.String())
	}
	if q := c.Resources.Requests[corev1.ResourceCPU]; q.Cmp(one) != 0 {
		t.Errorf("deploy/k8s/%s: an app pod requests %s of CPU: one core, so the scheduler places it where one is free", b.Dir, q.String())
	}
	var gomaxprocs string
	for _, e := range c.Env {
		if e.Name == "GOMAXPROCS" {
			gomaxprocs = e.Value
		}
	}
	if gomaxprocs != "1" {
		t.Errorf("deploy/k8s/%s: the app's GOMAXPROCS is %q: 1, as every stage's app servers", b.Dir, gomaxprocs)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
		t.Errorf("deploy/k8s/%s: the app Deployment sets no replicas", b.Dir)
	}
}

// checkContainers: every container and init container has CPU and memory
// requests and limits and runs read-only and unprivileged; every container
// that serves (of a Deployment, a StatefulSet or a Pod) has readiness and
// liveness probes; a Job, which runs to its end, has a deadline instead.
func checkContainers(t *testing.T, b k8sBuild) {
	t.Helper()
	uid := dockerfileUser(t)
	for _, o := range b.Objects {
		spec, _ := podSpec(o)
		if spec == nil {
			continue
		}
		where := fmt.Sprintf("deploy/k8s/%s: %s %s", b.Dir, o.Kind, o.Name)
		job, isJob := o.Obj.(*batchv1.Job)
		if isJob && job.Spec.ActiveDeadlineSeconds == nil {
			t.Errorf("%s: a Job needs activeDeadlineSeconds, so a hung one ends", where)
		}
		if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: the pod must set runAsNonRoot and a numeric runAsUser", where)
		}
		all := append(slices.Clone(spec.InitContainers), spec.Containers...)
		for _, c := range all {
			cw := where + ": container " + c.Name
			for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if _, ok := rl[r]; !ok {
						t.Errorf("%s: no %s request or limit", cw, r)
					}
				}
			}
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: must run with a read-only root file system and no privilege escalation", cw)
			}
			if imageName(c.Image) == scalelabImage {
				user := spec.SecurityContext.RunAsUser
				if sc != nil && sc.RunAsUser != nil {
					user = sc.RunAsUser
				}
				if user == nil || *user != uid {
					t.Errorf("%s: runs scalelab's image as another user than the Dockerfile's %d", cw, uid)
				}
			}
		}
		if isJob {
			continue
		}
		for _, c := range spec.Containers {
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				t.Errorf("%s: container %s needs a readiness and a liveness probe", where, c.Name)
			}
		}
	}
}

// imageName is an image reference without its tag or digest.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// dockerfileUser is the numeric user the Dockerfile's image runs as: a
// name would leave Kubernetes unable to check runAsNonRoot.
func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER\s+(\S+)\s*$`).FindAllStringSubmatch(string(b), -1)
	if len(m) == 0 {
		t.Fatal("the Dockerfile sets no USER: the image would run as root")
	}
	user, _, _ := strings.Cut(m[len(m)-1][1], ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil || uid == 0 {
		t.Fatalf("the Dockerfile's last USER is %q: a numeric user other than 0, so Kubernetes can check runAsNonRoot", m[len(m)-1][1])
	}
	return uid
}

// checkServices: every Service selects pods of the build and reaches a
// port they declare.
func checkServices(t *testing.T, b k8sBuild) {
	t.Helper()
	for _, o := range b.Objects {
		svc, ok := o.Obj.(*corev1.Service)
		if !ok {
			continue
		}
		var pods []*corev1.PodSpec
		for _, p := range b.Objects {
			spec, labels := podSpec(p)
			if spec == nil || len(svc.Spec.Selector) == 0 {
				continue
			}
			match := true
			for k, v := range svc.Spec.Selector {
				match = match && labels[k] == v
			}
			if match {
				pods = append(pods, spec)
			}
		}
		if len(pods) == 0 {
			t.Errorf("deploy/k8s/%s: Service %s selects no pod", b.Dir, svc.Name)
			continue
		}
		for _, port := range svc.Spec.Ports {
			if !hasPort(pods[0], port.TargetPort) {
				t.Errorf("deploy/k8s/%s: Service %s's port %d targets %s, which its pods do not declare", b.Dir, svc.Name, port.Port, port.TargetPort.String())
			}
		}
	}
}

func hasPort(spec *corev1.PodSpec, target intstr.IntOrString) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if target.Type == intstr.String && p.Name == target.StrVal || target.Type == intstr.Int && p.ContainerPort == target.IntVal {
				return true
			}
		}
	}
	return false
}

// checkConfigMapRefs: every ConfigMap a pod reads is in the same build
// (kustomize renames generated ones with a hash, and their references with
// them; a reference it did not rename is a typo).
func checkConfigMapRefs(t *testing.T, b k8sBuild) {
	t.Helper()
	for _, o := range b.Objects {
		spec, _ := podSpec(o)
		if spec == nil {
			continue
		}
		var refs []string
		for _, v := range spec.Volumes {
			if v.ConfigMap != nil {
				refs = append(refs, v.ConfigMap.Name)
			}
		}
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil {
					refs = append(refs, e.ConfigMapRef.Name)
				}
			}
		}
		for _, r := range refs {
			found := false
			for _, x := range b.Objects {
				found = found || x.Kind == "ConfigMap" && x.Name == r
			}
			if !found {
				t.Errorf("deploy/k8s/%s: %s %s reads ConfigMap %s, which is not in the build", b.Dir, o.Kind, o.Name, r)
			}
		}
	}
}

// parseCommand parses a container's scalelab command with this CLI: the
// command must exist, every flag must be defined and take its value, and
// the command's own argument check must pass. $(VAR) is expanded as
// Kubernetes does, from the container's env (an undefined one fails: it
// would stay literal), with the value values gives it or, for one the
// kubelet fills in at run time (a Job's index), "0". Flags of pendingFlags
// that the CLI does not define yet are skipped, named in the log.
func parseCommand(t *testing.T, where string, c corev1.Container, values map[string]string) (name string, flags map[string]string, args []string, ok bool) {
	t.Helper()
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	var expanded []string
	for _, a := range c.Args {
		a = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(a, func(ref string) string {
			name := ref[2 : len(ref)-1]
			if !env[name] {
				t.Errorf("%s: %s is not in the container's env: Kubernetes would leave it as it is", where, ref)
			}
			if v, ok := values[name]; ok {
				return v
			}
			return "0"
		})
		expanded = append(expanded, a)
	}
	root := newRootCmd()
	cmd, rest, err := root.Find(expanded)
	if err != nil || cmd == root {
		t.Errorf("%s: scalelab %s: no such command (%v)", where, strings.Join(c.Args, " "), err)
		return "", nil, nil, false
	}
	var kept []string
	for i := 0; i < len(rest); i++ {
		flagName, _, hasValue := strings.Cut(strings.TrimPrefix(rest[i], "--"), "=")
		if why, pending := pendingFlags[flagName]; pending && strings.HasPrefix(rest[i], "--") && cmd.Flags().Lookup(flagName) == nil {
			if other := definedBy(root, flagName); other != "" {
				t.Errorf("%s: scalelab %s has no --%s, which scalelab %s has: the flag exists now, and must reach this command", where, cmd.Name(), flagName, other)
			} else {
				t.Logf("%s: --%s (%s) is not defined by this scalelab yet: skipped", where, flagName, why)
			}
			if !hasValue {
				i++
			}
			continue
		}
		kept = append(kept, rest[i])
	}
	if err := cmd.ParseFlags(kept); err != nil {
		t.Errorf("%s: scalelab %s: %v", where, strings.Join(c.Args, " "), err)
		return "", nil, nil, false
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			t.Errorf("%s: scalelab %s: %v", where, strings.Join(c.Args, " "), err)
			return "", nil, nil, false
		}
	}
	flags = map[string]string{}
	cmd.Flags().Visit(func(f *pflag.Flag) { flags[f.Name] = f.Value.String() })
	return cmd.Name(), flags, cmd.Flags().Args(), true
}

// definedBy names a command of the tree that defines the flag, or "".
func definedBy(root *cobra.Command, flagName string) string {
	for _, c := range root.Commands() {
		if c.Flags().Lookup(flagName) != nil {
			return c.Name()
		}
		if name := definedBy(c, flagName); name != "" {
			return name
		}
	}
	return ""
}

// envValues are the values of a container's env that the manifests fix: a
// literal, or a key of a ConfigMap of the builds (one that no build has is
// an error: the pod would not start).
func envValues(t *testing.T, c corev1.Container, builds []k8sBuild) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.Value != "":
			out[e.Name] = e.Value
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			for _, b := range builds {
				if cm, _ := b.find("ConfigMap", ref.Name).(*corev1.ConfigMap); cm != nil && cm.Name == ref.Name {
					if v, ok := cm.Data[ref.Key]; ok {
						out[e.Name] = v
						break
					}
				}
			}
			if _, ok := out[e.Name]; !ok {
				t.Errorf("container %s: env %s reads key %s of ConfigMap %s, which no kustomization here makes", c.Name, e.Name, ref.Key, ref.Name)
			}
		}
	}
	return out
}

// checkCommands parses every scalelab command of every manifest (the
// image's entrypoint is scalelab: a container of that image with a command
// of its own runs something else, which only the results pod does).
func checkCommands(t *testing.T, builds []k8sBuild) {
	t.Helper()
	var n int
	for _, b := range builds {
		for _, o := range b.Objects {
			spec, _ := podSpec(o)
			if spec == nil {
				continue
			}
			for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				if imageName(c.Image) != scalelabImage {
					continue
				}
				where := fmt.Sprintf("deploy/k8s/%s: %s %s: container %s", b.Dir, o.Kind, o.Name, c.Name)
				if len(c.Command) > 0 {
					if o.Kind != "Pod" || c.Command[0] != "sleep" {
						t.Errorf("%s: runs %q instead of the image's scalelab", where, c.Command)
					}
					continue
				}
				name, flags, _, ok := parseCommand(t, where, c, envValues(t, c, builds))
				if !ok {
					continue
				}
				n++
				if claiming[name] {
					checkStateFolder(t, where, c, flags["state"])
				}
			}
		}
	}
	if n == 0 {
		t.Error("no scalelab command found in deploy/k8s")
	}
}

// checkStateFolder: a command that claims the lab (seed) prepares its state
// folder, which includes making it private with chmod, which only the
// folder's owner may do; a volume's mount point is root's (an emptyDir,
// a claim), so the state folder must be a folder inside a volume, which
// the command creates as its own. Anywhere else the read-only root file
// system refuses it.
func checkStateFolder(t *testing.T, where string, c corev1.Container, state string) {
	t.Helper()
	if !filepath.IsAbs(state) {
		t.Errorf("%s: --state %q: give the state folder as an absolute path inside a volume", where, state)
		return
	}
	for _, m := range c.VolumeMounts {
		rel, err := filepath.Rel(m.MountPath, state)
		switch {
		case err != nil || strings.HasPrefix(rel, ".."):
			continue
		case rel == ".":
			t.Errorf("%s: --state %s is the mount point of volume %s, which is root's: the lab could not make it private; use a folder inside it", where, state, m.Name)
		case m.ReadOnly:
			t.Errorf("%s: --state %s is in the read-only volume %s", where, state, m.Name)
		}
		return
	}
	t.Errorf("%s: --state %s is in no volume: the root file system is read-only", where, state)
}

// checkLoadAndReport: the load Job loads the stack's nginx Service with the
// seed Job's dataset, its K pods write the records the report Job merges,
// and plot draws the merged one.
func checkLoadAndReport(t *testing.T, stack, load, report k8sBuild, all []k8sBuild) {
	t.Helper()
	seed, _ := stack.find("Job", "seed").(*batchv1.Job)
	lj, _ := load.find("Job", "load").(*batchv1.Job)
	rj, _ := report.find("Job", "report").(*batchv1.Job)
	nginx, _ := stack.find("Service", "nginx").(*corev1.Service)
	if seed == nil || lj == nil || rj == nil || nginx == nil {
		t.Fatal("deploy/k8s: the seed, load and report Jobs and the nginx Service must all exist")
	}
	_, seedFlags, _, ok1 := parseCommand(t, "seed", seed.Spec.Template.Spec.Containers[0], nil)
	_, loadFlags, targets, ok2 := parseCommand(t, "load", lj.Spec.Template.Spec.Containers[0], nil)
	if !ok1 || !ok2 {
		return
	}
	for _, f := range []string{"users", "seed"} {
		if seedFlags[f] == "" || seedFlags[f] != loadFlags[f] {
			t.Errorf("the load Job's --%s is %q, the seed Job's %q: the visitors would ask for pages the dataset does not have", f, loadFlags[f], seedFlags[f])
		}
	}
	if loadFlags["workload"] != "photos" || loadFlags["allow-remote"] != "true" {
		t.Errorf("the load Job runs --workload %q, --allow-remote %q: the photo site's visitors, to a Service outside the loopback", loadFlags["workload"], loadFlags["allow-remote"])
	}
	for _, target := range targets {
		u, err := url.Parse(target)
		port := 80
		if err == nil && u.Port() != "" {
			port, _ = strconv.Atoi(u.Port())
		}
		if err != nil || u.Hostname() != nginx.Name || port != int(nginx.Spec.Ports[0].Port) {
			t.Errorf("the load Job loads %s, not the nginx Service (%s:%d)", target, nginx.Name, nginx.Spec.Ports[0].Port)
		}
	}
	if lj.Spec.Parallelism == nil || lj.Spec.Completions == nil || *lj.Spec.Parallelism != *lj.Spec.Completions ||
		lj.Spec.CompletionMode == nil || *lj.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the load Job must be Indexed with parallelism = completions = K: K generators at once, one record each")
	}
	k := int(*lj.Spec.Completions)
	var want []string
	for i := range k {
		want = append(want, strings.ReplaceAll(lj.Spec.Template.Spec.Containers[0].Args[slices.Index(lj.Spec.Template.Spec.Containers[0].Args, "--out")+1], "$(LOAD_INDEX)", strconv.Itoa(i)))
	}
	spec := rj.Spec.Template.Spec
	if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
		t.Fatal("the report Job runs merge as its init container, then plot")
	}
	mname, mflags, mfiles, ok1 := parseCommand(t, "merge", spec.InitContainers[0], envValues(t, spec.InitContainers[0], all))
	pname, _, pargs, ok2 := parseCommand(t, "plot", spec.Containers[0], nil)
	if !ok1 || !ok2 {
		return
	}
	if mname != "merge" || pname != "plot" {
		t.Errorf("the report Job runs %s then %s: merge, then plot", mname, pname)
	}
	if !slices.Equal(mfiles, want) {
		t.Errorf("the report Job merges %v; the load Job's %d pods write %v", mfiles, k, want)
	}
	if mflags["run"] == "" || len(pargs) != 1 || pargs[0] != mflags["run"] {
		t.Errorf("the report Job plots %v, merge writes the run folder %q", pargs, mflags["run"])
	}
	if _, _, err := record.StageOfKey(mflags["stage"]); err != nil {
		t.Errorf("the report Job's merge --stage %q: %v", mflags["stage"], err)
	}
}
