package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/metrics"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

const alarmType = "AWS::CloudWatch::Alarm"

// defaultAlarms is how many alarms the default stack has: 5xx rate, latency,
// breaker (EMF), and the Stream function's throttles, errors and duration,
// the Function URL's and the REST API's 5xx rates and the table's throttles
// (AWS metrics). everyDoorAlarms: with the HTTP API, the Api function's
// three and the HTTP API's 5xx rate as well.
const (
	defaultAlarms   = 3 + 3 + 2 + 1
	everyDoorAlarms = 3 + 2*3 + 3 + 1
)

// The names the stack reads must be the names the functions write.
func TestMetricNamesMatchTheEMFWriter(t *testing.T) {
	pairs := [][2]string{
		{DefaultMetricsNamespace, metrics.DefaultEMFNamespace},
		{metricRequests, metrics.EMFRequests}, {metricErrors, metrics.EMFErrors},
		{metricLatency, metrics.EMFLatency}, {metricUpstreamLatency, metrics.EMFUpstreamLatency},
		{metricTimeToFirstByte, metrics.EMFTimeToFirstByte},
		{metricInputTokens, metrics.EMFInputTokens}, {metricOutputTokens, metrics.EMFOutputTokens},
		{metricCostUSD, metrics.EMFCostUSD}, {metricCacheHits, metrics.EMFCacheHits},
		{metricRateLimited, metrics.EMFRateLimited}, {metricFailovers, metrics.EMFFailovers},
		{metricBreakerOpen, metrics.EMFBreakerOpen},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("infra reads %q, internal/metrics writes %q", p[0], p[1])
		}
	}
	// Alarms read the dimensionless series and the by-provider graphs the
	// [Provider] series: both sets must be written for requests and breakers.
	for name, sets := range map[string][][]string{
		"request": metrics.EMFRequestDimensions, "breaker": metrics.EMFBreakerDimensions,
	} {
		hasEmpty := slices.ContainsFunc(sets, func(s []string) bool { return len(s) == 0 })
		hasProvider := slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, []string{dimProvider}) })
		if !hasEmpty || !hasProvider {
			t.Errorf("%s dimension sets %v: want [] and [%s] among them", name, sets, dimProvider)
		}
	}
}

func TestMonitoringDefaultsAndInvalidProps(t *testing.T) {
	m := MonitoringProps{}.resolve("Stack")
	want := MonitoringProps{Namespace: "AIGateway", DashboardName: "Stack", PeriodSeconds: 300,
		ErrorRatePercent: 5, ErrorRatePeriods: 3, LatencyP99Ms: 30000, LatencyPeriods: 3, DurationTimeoutPercent: 90}
	if m != want {
		t.Errorf("defaults %+v, want %+v", m, want)
	}
	for name, bad := range map[string]MonitoringProps{
		"AWS namespace":        {Namespace: "AWS/Lambda"},
		"namespace quote":      {Namespace: `a"b`},
		"namespace spaces":     {Namespace: " AIGateway"},
		"namespace too long":   {Namespace: strings.Repeat("n", 256)},
		"period not a minute":  {PeriodSeconds: 90},
		"period too short":     {PeriodSeconds: 30},
		"error rate 100":       {ErrorRatePercent: 100},
		"negative error rate":  {ErrorRatePercent: -1},
		"negative latency":     {LatencyP99Ms: -1},
		"fractional periods":   {ErrorRatePeriods: 1.5},
		"negative periods":     {LatencyPeriods: -2},
		"namespace non-ASCII":  {Namespace: "Gateway\u00e9"},
		"namespace with comma": {Namespace: "a,b"},
		"duration percent 0":   {DurationTimeoutPercent: -1},
		"duration percent 101": {DurationTimeoutPercent: 101},
		"alarm e-mail":         {AlarmEmail: "ops at example.com"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: %+v accepted", name, bad)
				}
			}()
			bad.resolve("Stack")
		}()
	}
}

func TestBothFunctionsGetTheMetricsNamespace(t *testing.T) {
	tmpl, _ := defaults(t)
	custom, _ := customMonitoring(t)
	for ns, tm := range map[string]assertions.Template{"AIGateway": tmpl, "Acme/Gateway": custom} {
		check(t, ns, func() {
			tm.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
					MetricsNamespaceEnv: ns,
				})},
			})
		})
	}
}

// The namespace prop wins over the same variable in Environment, so the
// functions always write where the dashboard and alarms read.
func TestTheNamespacePropWinsOverEnvironment(t *testing.T) {
	tmpl := synth(t, &GatewayStackProps{Environment: map[string]string{MetricsNamespaceEnv: "Other"}})
	check(t, "env", func() {
		tmpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				MetricsNamespaceEnv: DefaultMetricsNamespace,
			})},
		})
	})
}

var (
	customProps = MonitoringProps{
		Namespace: "Acme/Gateway", DashboardName: "ops-gateway", PeriodSeconds: 60,
		ErrorRatePercent: 2, ErrorRatePeriods: 5, LatencyP99Ms: 5000, LatencyPeriods: 2,
		AlarmTopicARN: "arn:aws:sns:eu-west-1:123456789012:gateway-alarms",
	}
	customTemplate assertions.Template
	customJSON     map[string]any
)

// customMonitoring is a stack with every monitoring prop set, synthesized once.
func customMonitoring(t *testing.T) (assertions.Template, map[string]any) {
	t.Helper()
	if customTemplate == nil {
		customTemplate = synth(t, &GatewayStackProps{Monitoring: customProps, HTTPAPI: true})
		customJSON = *customTemplate.ToJSON()
	}
	return customTemplate, customJSON
}

// widget is one dashboard widget, its metrics rows decoded.
type widget struct {
	Type       string `json:"type"`
	Properties struct {
		Title    string   `json:"title"`
		Markdown string   `json:"markdown"`
		Alarms   []string `json:"alarms"`
		Metrics  [][]any  `json:"metrics"`
	} `json:"properties"`
}

// dashboard returns the only dashboard's name and widgets. Its body is an
// Fn::Join; references in it are rendered as "<Ref X>" / "<GetAtt X>".
func dashboard(t *testing.T, j map[string]any) (name any, body string, widgets []widget) {
	t.Helper()
	props := resources(j, "AWS::CloudWatch::Dashboard")[only(t, j, "AWS::CloudWatch::Dashboard")]["Properties"].(map[string]any)
	var b strings.Builder
	switch v := props["DashboardBody"].(type) {
	case string:
		b.WriteString(v)
	case map[string]any:
		for _, part := range v["Fn::Join"].([]any)[1].([]any) {
			switch p := part.(type) {
			case string:
				b.WriteString(p)
			case map[string]any:
				if ref, ok := p["Ref"]; ok {
					fmt.Fprintf(&b, "<Ref %v>", ref)
				} else if ga, ok := p["Fn::GetAtt"].([]any); ok {
					fmt.Fprintf(&b, "<GetAtt %v>", ga[0])
				} else {
					t.Fatalf("dashboard body: unexpected %v", p)
				}
			}
		}
	}
	var parsed struct {
		Widgets []widget `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(b.String()), &parsed); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, b.String())
	}
	return props["DashboardName"], b.String(), parsed.Widgets
}

// series renders a widget's metrics rows as "Namespace Name [dims] stat",
// or "expr <expression>", skipping hidden inputs of expressions.
func series(w widget) []string {
	var out []string
	for _, row := range w.Properties.Metrics {
		opts, _ := row[len(row)-1].(map[string]any)
		if e, ok := opts["expression"]; ok {
			out = append(out, fmt.Sprint("expr ", e))
			continue
		}
		if opts["visible"] == false {
			continue
		}
		var parts []string
		for _, p := range row[:len(row)-1] {
			parts = append(parts, fmt.Sprint(p))
		}
		out = append(out, strings.Join(parts, " ")+" "+fmt.Sprint(opts["stat"]))
	}
	return out
}

func TestTheDashboardGraphsEveryGatewayAndLambdaMetric(t *testing.T) {
	tmpl, j := defaults(t)
	check(t, "one dashboard", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
	})
	name, body, widgets := dashboard(t, j)
	if name != "Test" {
		t.Errorf("dashboard name %v, want the stack's name", name)
	}
	if !strings.Contains(body, `"AIGateway"`) {
		t.Errorf("the namespace is not in the dashboard body: %s", body)
	}
	stream := functionID(t, j, "Stream")
	lambda := func(metric, stat string) []string {
		return []string{fmt.Sprintf("AWS/Lambda %s FunctionName <Ref %s> %s", metric, stream, stat)}
	}
	want := map[string][]string{
		"Requests and 5xx errors":      {"AIGateway Requests Sum", "AIGateway Errors Sum"},
		"5xx rate":                     {"expr 100 * errors / requests"},
		"Latency":                      {"AIGateway Latency p50", "AIGateway Latency p99", "AIGateway UpstreamLatency p99"},
		"Time to first byte (streams)": {"AIGateway TimeToFirstByte p50", "AIGateway TimeToFirstByte p99"},
		"Tokens":                       {"AIGateway InputTokens Sum", "AIGateway OutputTokens Sum"},
		"Cost":                         {"AIGateway CostUSD Sum"},
		"Cache hits":                   {"AIGateway CacheHits Sum"},
		"Rate-limited (429)":           {"AIGateway RateLimited Sum"},
		"Failovers":                    {"AIGateway Failovers Sum"},
		"Circuit breaker opens":        {"AIGateway BreakerOpen Sum"},
		"Requests by provider":         {`expr SEARCH('{"AIGateway",Provider} MetricName="Requests"', 'Sum', 300)`},
		"Latency p99 by provider":      {`expr SEARCH('{"AIGateway",Provider} MetricName="Latency"', 'p99', 300)`},
		"Lambda throttles":             lambda("Throttles", "Sum"),
		"Lambda errors":                lambda("Errors", "Sum"),
		"Lambda duration p99":          lambda("Duration", "p99"),
		"Lambda concurrent executions": lambda("ConcurrentExecutions", "Maximum"),
		"Front-door 5xx (AWS metrics)": {
			fmt.Sprintf("AWS/Lambda Url5xxCount FunctionName <Ref %s> Sum", stream),
			"AWS/ApiGateway 5XXError ApiName Test Sum",
		},
		"DynamoDB throttled events": {"expr FILL(reads, 0) + FILL(writes, 0)"},
	}
	got := map[string][]string{}
	var alarms []string
	for _, w := range widgets {
		switch w.Type {
		case "metric":
			got[w.Properties.Title] = series(w)
		case "alarm":
			alarms = w.Properties.Alarms
		}
	}
	for title, ws := range want {
		if !slices.Equal(got[title], ws) {
			t.Errorf("graph %q: %q, want %q", title, got[title], ws)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d graphs, want %d: %v", len(got), len(want), got)
	}
	// The 5xx rate's inputs are the dimensionless Errors and Requests sums.
	for _, w := range widgets {
		if w.Properties.Title != "5xx rate" {
			continue
		}
		var inputs []string
		for _, row := range w.Properties.Metrics[1:] {
			opts := row[len(row)-1].(map[string]any)
			inputs = append(inputs, fmt.Sprintf("%v %v %v", row[:len(row)-1], opts["id"], opts["stat"]))
		}
		if w := []string{"[AIGateway Errors] errors Sum", "[AIGateway Requests] requests Sum"}; !slices.Equal(inputs, w) {
			t.Errorf("5xx rate inputs %q, want %q", inputs, w)
		}
	}
	if len(alarms) != defaultAlarms {
		t.Errorf("alarm status widget lists %d alarms, want %d: %v", len(alarms), defaultAlarms, alarms)
	}
}

// alarmProps are the properties every alarm sets; missing data (no traffic)
// never breaches.
func alarmProps(threshold, periods int, op string, extra map[string]any) map[string]any {
	p := map[string]any{
		"Threshold": threshold, "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
		"ComparisonOperator": op, "TreatMissingData": "notBreaching",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// stat is one MetricStat entry of an alarm's Metrics, with no dimensions.
func stat(id, namespace, name, statistic string, period int, returnData bool) map[string]any {
	return map[string]any{
		"Id": id, "ReturnData": returnData,
		"MetricStat": map[string]any{
			"Metric": map[string]any{"Namespace": namespace, "MetricName": name, "Dimensions": assertions.Match_Absent()},
			"Stat":   statistic, "Period": period,
		},
	}
}

func errorRateAlarm(namespace string, percent, periods, period int) map[string]any {
	return alarmProps(percent, periods, "GreaterThanThreshold", map[string]any{"Metrics": []any{
		map[string]any{"Id": "expr_1", "Expression": "100 * errors / requests", "ReturnData": true},
		stat("errors", namespace, "Errors", "Sum", period, false),
		stat("requests", namespace, "Requests", "Sum", period, false),
	}})
}

func latencyAlarm(namespace string, ms, periods, period int) map[string]any {
	return alarmProps(ms, periods, "GreaterThanThreshold", map[string]any{"Metrics": []any{
		stat("m1", namespace, "Latency", "p99", period, true),
	}})
}

func breakerAlarm(namespace string, period int) map[string]any {
	return alarmProps(1, 1, "GreaterThanOrEqualToThreshold", map[string]any{"Metrics": []any{
		stat("m1", namespace, "BreakerOpen", "Sum", period, true),
	}})
}

func throttleAlarm(fn string, period int) map[string]any {
	return alarmProps(0, 1, "GreaterThanThreshold", map[string]any{
		"Namespace": "AWS/Lambda", "MetricName": "Throttles", "Statistic": "Sum", "Period": period,
		"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": fn}}},
	})
}

// lambdaAlarm is an alarm on one AWS/Lambda metric of one function.
func lambdaAlarm(fn, metric, statistic string, threshold, period int, op string) map[string]any {
	return alarmProps(threshold, 1, op, map[string]any{
		"Namespace": "AWS/Lambda", "MetricName": metric, "Statistic": statistic, "Period": period,
		"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": fn}}},
	})
}

// dimStat is one MetricStat entry of an alarm's Metrics with one dimension.
func dimStat(id, namespace, name, dim, ref string, period int) map[string]any {
	return map[string]any{
		"Id": id, "ReturnData": false,
		"MetricStat": map[string]any{
			"Metric": map[string]any{"Namespace": namespace, "MetricName": name,
				"Dimensions": []any{map[string]any{"Name": dim, "Value": map[string]any{"Ref": ref}}}},
			"Stat": "Sum", "Period": period,
		},
	}
}

func functionURL5xxAlarm(fn string, percent, periods, period int) map[string]any {
	return alarmProps(percent, periods, "GreaterThanThreshold", map[string]any{"Metrics": []any{
		map[string]any{"Id": "expr_1", "Expression": "100 * errors / requests", "ReturnData": true},
		dimStat("errors", "AWS/Lambda", "Url5xxCount", "FunctionName", fn, period),
		dimStat("requests", "AWS/Lambda", "UrlRequestCount", "FunctionName", fn, period),
	}})
}

func httpAPI5xxAlarm(api string, percent, periods, period int) map[string]any {
	return alarmProps(percent, periods, "GreaterThanThreshold", map[string]any{"Metrics": []any{
		map[string]any{"Id": "expr_1", "Expression": "100 * errors / requests", "ReturnData": true},
		dimStat("errors", "AWS/ApiGateway", "5xx", "ApiId", api, period),
		dimStat("requests", "AWS/ApiGateway", "Count", "ApiId", api, period),
	}})
}

// restAPI5xxAlarm is the REST API's 5xx rate; its metrics carry the API's
// name, which is the stack's.
func restAPI5xxAlarm(apiName string, percent, periods, period int) map[string]any {
	named := func(id, metric string) map[string]any {
		return map[string]any{
			"Id": id, "ReturnData": false,
			"MetricStat": map[string]any{
				"Metric": map[string]any{"Namespace": "AWS/ApiGateway", "MetricName": metric,
					"Dimensions": []any{map[string]any{"Name": "ApiName", "Value": apiName}}},
				"Stat": "Sum", "Period": period,
			},
		}
	}
	return alarmProps(percent, periods, "GreaterThanThreshold", map[string]any{"Metrics": []any{
		map[string]any{"Id": "expr_1", "Expression": "100 * errors / requests", "ReturnData": true},
		named("errors", "5XXError"), named("requests", "Count"),
	}})
}

func tableThrottleAlarm(table string, period int) map[string]any {
	return alarmProps(0, 1, "GreaterThanThreshold", map[string]any{"Metrics": []any{
		map[string]any{"Id": "expr_1", "Expression": "FILL(reads, 0) + FILL(writes, 0)", "ReturnData": true},
		dimStat("reads", "AWS/DynamoDB", "ReadThrottleEvents", "TableName", table, period),
		dimStat("writes", "AWS/DynamoDB", "WriteThrottleEvents", "TableName", table, period),
	}})
}

func hasAlarm(t *testing.T, tmpl assertions.Template, what string, props map[string]any) {
	t.Helper()
	check(t, what, func() { tmpl.HasResourceProperties(jsii.String(alarmType), props) })
}

func TestThe5xxRateAlarmDividesTheDimensionlessErrorsByRequests(t *testing.T) {
	tmpl, _ := defaults(t)
	hasAlarm(t, tmpl, "5xx rate > 5% for 3 of 300 s", errorRateAlarm("AIGateway", 5, 3, 300))
}

func TestTheLatencyAlarmWatchesTheGatewayWideP99(t *testing.T) {
	tmpl, _ := defaults(t)
	hasAlarm(t, tmpl, "p99 > 30000 ms for 3 of 300 s", latencyAlarm("AIGateway", 30000, 3, 300))
}

func TestEachFunctionHasAThrottleAlarm(t *testing.T) {
	tmpl, j := everyDoor(t)
	for _, name := range []string{"Api", "Stream"} {
		hasAlarm(t, tmpl, name+" throttles > 0", throttleAlarm(functionID(t, j, name), 300))
	}
}

func TestTheBreakerAlarmFiresOnTheFirstOpen(t *testing.T) {
	tmpl, _ := defaults(t)
	hasAlarm(t, tmpl, "BreakerOpen >= 1", breakerAlarm("AIGateway", 300))
}

func TestAlarmsHaveNoActionsWithoutATopic(t *testing.T) {
	tmpl, _ := defaults(t)
	check(t, "all alarms", func() { tmpl.ResourceCountIs(jsii.String(alarmType), jsii.Number(defaultAlarms)) })
	check(t, "no actions", func() {
		tmpl.AllResourcesProperties(jsii.String(alarmType), map[string]any{
			"AlarmActions": assertions.Match_Absent(), "OKActions": assertions.Match_Absent(),
			"InsufficientDataActions": assertions.Match_Absent(),
		})
	})
}

func TestMonitoringPropsSetNamespaceThresholdsPeriodAndTheSNSAction(t *testing.T) {
	tmpl, j := customMonitoring(t)
	name, body, _ := dashboard(t, j)
	if name != "ops-gateway" {
		t.Errorf("dashboard name %v", name)
	}
	if !strings.Contains(body, `"Acme/Gateway"`) || strings.Contains(body, "AIGateway") {
		t.Errorf("dashboard body does not read only the Acme/Gateway namespace: %s", body)
	}
	if !strings.Contains(body, `SEARCH('{\"Acme/Gateway\",Provider} MetricName=\"Requests\"', 'Sum', 60)`) {
		t.Errorf("by-provider search does not use the namespace and period: %s", body)
	}
	const ns = "Acme/Gateway"
	hasAlarm(t, tmpl, "5xx rate > 2% for 5 of 60 s", errorRateAlarm(ns, 2, 5, 60))
	hasAlarm(t, tmpl, "p99 > 5000 ms for 2 of 60 s", latencyAlarm(ns, 5000, 2, 60))
	hasAlarm(t, tmpl, "BreakerOpen >= 1 in 60 s", breakerAlarm(ns, 60))
	for _, fn := range []string{"Api", "Stream"} {
		hasAlarm(t, tmpl, fn+" throttles in 60 s", throttleAlarm(functionID(t, j, fn), 60))
	}
	check(t, "all alarms", func() { tmpl.ResourceCountIs(jsii.String(alarmType), jsii.Number(everyDoorAlarms)) })
	check(t, "every alarm notifies the topic when it fires and when it recovers", func() {
		tmpl.AllResourcesProperties(jsii.String(alarmType), map[string]any{
			"AlarmActions": []any{customProps.AlarmTopicARN},
			"OKActions":    []any{customProps.AlarmTopicARN},
		})
	})
	check(t, "no topic is created", func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0)) })
	check(t, "no subscription", func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0)) })
	check(t, "topic output", func() {
		tmpl.HasOutput(jsii.String(OutputAlarmTopicARN), map[string]any{"Value": customProps.AlarmTopicARN})
	})
}

func TestAlarmsCanBeTurnedOffAllOrOneByOne(t *testing.T) {
	none := synth(t, &GatewayStackProps{Monitoring: MonitoringProps{DisableAlarms: true,
		AlarmTopicARN: customProps.AlarmTopicARN}})
	check(t, "no alarms", func() { none.ResourceCountIs(jsii.String(alarmType), jsii.Number(0)) })
	check(t, "the dashboard stays", func() {
		none.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
	})
	_, _, widgets := dashboard(t, *none.ToJSON())
	for _, w := range widgets {
		if w.Type == "alarm" {
			t.Errorf("alarm status widget without alarms: %v", w.Properties.Alarms)
		}
	}

	some := synth(t, &GatewayStackProps{Monitoring: MonitoringProps{DisableLatencyAlarm: true, DisableThrottleAlarms: true,
		DisableLambdaErrorAlarms: true, DisableDurationAlarms: true, DisableFrontDoor5xxAlarms: true}})
	check(t, "three alarms left", func() { some.ResourceCountIs(jsii.String(alarmType), jsii.Number(3)) })
	hasAlarm(t, some, "5xx rate kept", errorRateAlarm("AIGateway", 5, 3, 300))
	hasAlarm(t, some, "breaker kept", breakerAlarm("AIGateway", 300))
	hasAlarm(t, some, "table throttles kept", tableThrottleAlarm(only(t, *some.ToJSON(), "AWS::DynamoDB::Table"), 300))

	other := synth(t, &GatewayStackProps{HTTPAPI: true, Monitoring: MonitoringProps{DisableErrorRateAlarm: true,
		DisableBreakerAlarm: true, DisableTableThrottleAlarm: true}})
	check(t, "ten alarms left", func() { other.ResourceCountIs(jsii.String(alarmType), jsii.Number(10)) })
	hasAlarm(t, other, "latency kept", latencyAlarm("AIGateway", 30000, 3, 300))
	for _, metric := range []string{"Throttles", "Errors", "Duration"} {
		check(t, metric+" kept", func() {
			other.ResourcePropertiesCountIs(jsii.String(alarmType), map[string]any{"MetricName": metric}, jsii.Number(2))
		})
	}
	oj := *other.ToJSON()
	hasAlarm(t, other, "URL 5xx kept", functionURL5xxAlarm(functionID(t, oj, "Stream"), 5, 3, 300))
	hasAlarm(t, other, "HTTP API 5xx kept", httpAPI5xxAlarm(only(t, oj, "AWS::ApiGatewayV2::Api"), 5, 3, 300))
	hasAlarm(t, other, "REST API 5xx kept", restAPI5xxAlarm("Test", 5, 3, 300))
}

func TestTheOutputsNameTheDashboardAndItsURL(t *testing.T) {
	tmpl, j := defaults(t)
	dash := only(t, j, "AWS::CloudWatch::Dashboard")
	check(t, OutputDashboardName, func() {
		tmpl.HasOutput(jsii.String(OutputDashboardName), map[string]any{"Value": map[string]any{"Ref": dash}})
	})
	check(t, OutputDashboardURL, func() {
		tmpl.HasOutput(jsii.String(OutputDashboardURL), map[string]any{"Value": map[string]any{"Fn::Join": []any{"", []any{
			"https://", map[string]any{"Ref": "AWS::Region"}, ".console.aws.amazon.com/cloudwatch/home?region=",
			map[string]any{"Ref": "AWS::Region"}, "#dashboards/dashboard/", map[string]any{"Ref": dash},
		}}}})
	})
}

// Init failures, crashes and timeouts write no EMF line: these alarms read
// AWS's own metrics.
func TestAlarmsThatDoNotNeedTheGatewaysMetrics(t *testing.T) {
	tmpl, j := everyDoor(t)
	for name, timeout := range map[string]int{"Api": 30, "Stream": 300} {
		fn := functionID(t, j, name)
		hasAlarm(t, tmpl, name+" Lambda Errors >= 1",
			lambdaAlarm(fn, "Errors", "Sum", 1, 300, "GreaterThanOrEqualToThreshold"))
		hasAlarm(t, tmpl, name+" Duration Maximum >= 90% of the timeout",
			lambdaAlarm(fn, "Duration", "Maximum", timeout*900, 300, "GreaterThanOrEqualToThreshold"))
	}
	hasAlarm(t, tmpl, "Function URL 5xx rate", functionURL5xxAlarm(functionID(t, j, "Stream"), 5, 3, 300))
	hasAlarm(t, tmpl, "HTTP API 5xx rate", httpAPI5xxAlarm(only(t, j, "AWS::ApiGatewayV2::Api"), 5, 3, 300))
	hasAlarm(t, tmpl, "REST API 5xx rate", restAPI5xxAlarm("Test", 5, 3, 300))
	hasAlarm(t, tmpl, "table throttles", tableThrottleAlarm(only(t, j, "AWS::DynamoDB::Table"), 300))

	// The duration alarm follows the timeout and the percent.
	custom := synth(t, &GatewayStackProps{Stream: FunctionProps{TimeoutSeconds: 900},
		Monitoring: MonitoringProps{DurationTimeoutPercent: 50}})
	hasAlarm(t, custom, "Stream Duration >= 50% of 900 s",
		lambdaAlarm(functionID(t, *custom.ToJSON(), "Stream"), "Duration", "Maximum", 450000, 300,
			"GreaterThanOrEqualToThreshold"))
}

func TestAnAlarmEmailCreatesATopicEveryAlarmNotifies(t *testing.T) {
	tmpl := synth(t, &GatewayStackProps{Monitoring: MonitoringProps{AlarmEmail: "ops@example.com"}})
	j := *tmpl.ToJSON()
	check(t, "one topic", func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(1)) })
	topic := only(t, j, "AWS::SNS::Topic")
	check(t, "e-mail subscription", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": map[string]any{"Ref": topic},
		})
	})
	check(t, "every alarm notifies the topic", func() {
		tmpl.AllResourcesProperties(jsii.String(alarmType), map[string]any{
			"AlarmActions": []any{map[string]any{"Ref": topic}},
			"OKActions":    []any{map[string]any{"Ref": topic}},
		})
	})
	check(t, "all alarms", func() { tmpl.ResourceCountIs(jsii.String(alarmType), jsii.Number(defaultAlarms)) })
	check(t, "TLS only, and this account's alarms may publish", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
			"Topics": []any{map[string]any{"Ref": topic}},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Action": "sns:Publish",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}),
				assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Allow", "Action": "sns:Publish",
					"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
					"Resource":  map[string]any{"Ref": topic},
					"Condition": assertions.Match_ObjectLike(&map[string]any{
						"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
					}),
				}),
			})},
		})
	})
	check(t, "topic output", func() {
		tmpl.HasOutput(jsii.String(OutputAlarmTopicARN), map[string]any{"Value": map[string]any{"Ref": topic}})
	})

	// With an existing topic as well, the address is subscribed to that one.
	both := synth(t, &GatewayStackProps{Monitoring: MonitoringProps{AlarmEmail: "ops@example.com",
		AlarmTopicARN: customProps.AlarmTopicARN}})
	check(t, "no topic created", func() { both.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0)) })
	check(t, "subscription on the existing topic", func() {
		both.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": customProps.AlarmTopicARN,
		})
	})

	// No alarms, no topic.
	off := synth(t, &GatewayStackProps{Monitoring: MonitoringProps{AlarmEmail: "ops@example.com", DisableAlarms: true}})
	check(t, "no topic without alarms", func() { off.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0)) })
}
