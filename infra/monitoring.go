package main

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// The gateway's Embedded Metric Format names, as internal/metrics writes them
// (its EMF* constants). They are repeated here rather than imported because
// that package also carries the Prometheus client, which would nearly double
// the CDK app's dependencies; TestMetricNamesMatchTheEMFWriter keeps the two
// in step. Every name here is also written with no dimensions (the empty
// dimension set of metrics.EMFRequestDimensions and EMFBreakerDimensions),
// which is what the alarms read: CloudWatch cannot combine percentiles across
// dimension values.
const (
	DefaultMetricsNamespace = "AIGateway"
	MetricsNamespaceEnv     = "GATEWAY_METRICS_NAMESPACE"

	metricRequests        = "Requests"
	metricErrors          = "Errors" // 1 when the status is >= 500
	metricLatency         = "Latency"
	metricUpstreamLatency = "UpstreamLatency"
	metricTimeToFirstByte = "TimeToFirstByte"
	metricInputTokens     = "InputTokens"
	metricOutputTokens    = "OutputTokens"
	metricCostUSD         = "CostUSD"
	metricCacheHits       = "CacheHits"
	metricRateLimited     = "RateLimited"
	metricFailovers       = "Failovers"
	metricBreakerOpen     = "BreakerOpen"

	// dimProvider is the dimension of the per-provider series.
	dimProvider = "Provider"
)

// MonitoringProps configure the CloudWatch dashboard and alarms. Zero values
// take the defaults; every alarm is on unless turned off.
type MonitoringProps struct {
	// Namespace of the gateway's metrics, set as GATEWAY_METRICS_NAMESPACE
	// on every function (it wins over the same name in Environment).
	// Default "AIGateway". CloudWatch's rules: letters, digits and . - _ / # :
	// or space, at most 255, not starting with "AWS/".
	Namespace string
	// DashboardName defaults to the stack's name.
	DashboardName string
	// PeriodSeconds is the period of every graph and alarm: a multiple of 60
	// (the gateway writes standard-resolution metrics). Default 300.
	PeriodSeconds float64

	// DisableAlarms turns every alarm off; the dashboard stays.
	DisableAlarms bool
	// Turn single alarms off. The first four read the gateway's EMF lines;
	// the others AWS's own metrics, which a function that fails before it
	// writes a line (init failure, crash, timeout) still moves.
	DisableErrorRateAlarm, DisableLatencyAlarm, DisableThrottleAlarms, DisableBreakerAlarm                bool
	DisableLambdaErrorAlarms, DisableDurationAlarms, DisableFrontDoor5xxAlarms, DisableTableThrottleAlarm bool

	// ErrorRatePercent: the 5xx-rate alarm fires when 100*Errors/Requests is
	// above it for ErrorRatePeriods periods in a row. Defaults 5 and 3.
	ErrorRatePercent, ErrorRatePeriods float64
	// LatencyP99Ms: the latency alarm fires when the p99 of Latency (whole
	// request, streams included) is above it for LatencyPeriods periods in a
	// row. Defaults 30000 (the HTTP API's own limit) and 3.
	LatencyP99Ms, LatencyPeriods float64

	// DurationTimeoutPercent: a function's duration alarm fires when its
	// longest invocation in a period reached this share of its timeout
	// (Lambda kills it at 100 %, writing no EMF line). Default 90.
	DurationTimeoutPercent float64

	// AlarmTopicARN is an SNS topic every alarm notifies when it fires and
	// when it recovers. None by default (the alarms only change state).
	AlarmTopicARN string
	// AlarmEmail subscribes an address to the alarm topic: the one of
	// AlarmTopicARN, or else a topic the stack creates (output
	// AlarmTopicArn). SNS mails a confirmation link first.
	AlarmEmail string
}

// Defaults of MonitoringProps.
const (
	DefaultMetricsPeriodSeconds = 300
	DefaultErrorRatePercent     = 5
	DefaultErrorRatePeriods     = 3
	DefaultLatencyP99Ms         = 30000
	DefaultLatencyPeriods       = 3
	DefaultDurationPercent      = 90
)

// Names of the monitoring outputs.
const (
	OutputDashboardName = "DashboardName"
	OutputDashboardURL  = "DashboardUrl"
	OutputAlarmTopicARN = "AlarmTopicArn"
)

var (
	namespaceRE = regexp.MustCompile(`^[0-9A-Za-z._\-/#: ]{1,255}$`)
	emailRE     = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// resolve fills in the defaults and panics (as CDK constructs do) on values
// CloudWatch would refuse at deploy time.
func (m MonitoringProps) resolve(stackName string) MonitoringProps {
	if m.Namespace == "" {
		m.Namespace = DefaultMetricsNamespace
	}
	if !namespaceRE.MatchString(m.Namespace) || strings.TrimSpace(m.Namespace) != m.Namespace ||
		strings.HasPrefix(m.Namespace, "AWS/") {
		panic(fmt.Sprintf("monitoring: namespace %q is not a CloudWatch custom namespace", m.Namespace))
	}
	if m.DashboardName == "" {
		m.DashboardName = stackName
	}
	m.PeriodSeconds = orDefault(m.PeriodSeconds, DefaultMetricsPeriodSeconds)
	if m.PeriodSeconds < 60 || math.Mod(m.PeriodSeconds, 60) != 0 {
		panic(fmt.Sprintf("monitoring: period %vs is not a multiple of 60 s", m.PeriodSeconds))
	}
	m.ErrorRatePercent = orDefault(m.ErrorRatePercent, DefaultErrorRatePercent)
	if m.ErrorRatePercent < 0 || m.ErrorRatePercent >= 100 {
		panic(fmt.Sprintf("monitoring: 5xx-rate threshold %v%% is not within [0, 100)", m.ErrorRatePercent))
	}
	m.LatencyP99Ms = orDefault(m.LatencyP99Ms, DefaultLatencyP99Ms)
	if m.LatencyP99Ms < 0 {
		panic(fmt.Sprintf("monitoring: latency threshold %v ms is negative", m.LatencyP99Ms))
	}
	m.DurationTimeoutPercent = orDefault(m.DurationTimeoutPercent, DefaultDurationPercent)
	if m.DurationTimeoutPercent <= 0 || m.DurationTimeoutPercent > 100 {
		panic(fmt.Sprintf("monitoring: duration threshold %v%% of the timeout is not within (0, 100]", m.DurationTimeoutPercent))
	}
	if m.AlarmEmail != "" && !emailRE.MatchString(m.AlarmEmail) {
		panic(fmt.Sprintf("monitoring: alarm e-mail %q is not an address", m.AlarmEmail))
	}
	m.ErrorRatePeriods = orDefault(m.ErrorRatePeriods, DefaultErrorRatePeriods)
	m.LatencyPeriods = orDefault(m.LatencyPeriods, DefaultLatencyPeriods)
	for _, n := range []float64{m.ErrorRatePeriods, m.LatencyPeriods} {
		if n < 1 || n != math.Trunc(n) {
			panic(fmt.Sprintf("monitoring: %v evaluation periods is not a whole number >= 1", n))
		}
	}
	return m
}

// monitored is what the stack's alarms and graphs watch besides the
// gateway's own metrics. A front door the stack does not have is nil ("").
type monitored struct {
	fns            map[string]awslambda.Function // by construct name: Api (with the HTTP API), Stream
	timeoutSeconds map[string]float64            // of each function
	url            string                        // the function behind the Function URL
	restAPI        awsapigateway.RestApi
	httpAPI        awsapigatewayv2.HttpApi
	table          awsdynamodb.Table
}

// addMonitoring adds the dashboard, the alarms and their outputs. m is
// resolved.
func addMonitoring(stack awscdk.Stack, m MonitoringProps, on monitored) {
	fns := on.fns
	period := awscdk.Duration_Seconds(jsii.Number(m.PeriodSeconds))
	gw := func(name, stat, label string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(m.Namespace), MetricName: jsii.String(name),
			Statistic: jsii.String(stat), Period: period, Label: jsii.String(label),
		})
	}
	errorRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("100 * errors / requests"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   gw(metricErrors, "Sum", "5xx errors"),
			"requests": gw(metricRequests, "Sum", "Requests"),
		},
		Period: period,
		Label:  jsii.String("5xx rate (%)"),
	})
	// byProvider graphs one series per Provider dimension value.
	byProvider := func(name, stat string) awscloudwatch.MathExpression {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf(`SEARCH('{"%s",%s} MetricName="%s"', '%s', %d)`,
				m.Namespace, dimProvider, name, stat, int(m.PeriodSeconds))),
			Period: period,
			Label:  jsii.String("${PROP('Dim." + dimProvider + "')}"), // one series per provider, named after it
		})
	}
	// rate is 100 * errors / requests of two Sum metrics: AWS's own 5xx
	// rate of a front door.
	rate := func(errors, requests awscloudwatch.IMetric, label string) awscloudwatch.MathExpression {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("100 * errors / requests"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"errors": errors, "requests": requests},
			Period:       period,
			Label:        jsii.String(label),
		})
	}
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period}
	labelled := func(label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period, Label: jsii.String(label)}
	}
	// Each front door's 5xx and request counts (AWS's own metrics), in the
	// order they are graphed.
	type door struct {
		alarm, name     string
		errors, request awscloudwatch.IMetric
		source          string
	}
	var doors []door
	if on.url != "" {
		urlFn := fns[on.url]
		doors = append(doors, door{"FunctionUrl5xxAlarm", "Function URL",
			urlFn.Metric(jsii.String("Url5xxCount"), labelled("Function URL 5xx")),
			urlFn.Metric(jsii.String("UrlRequestCount"), sum), "AWS/Lambda Url5xxCount/UrlRequestCount"})
	}
	if on.restAPI != nil {
		doors = append(doors, door{"RestApi5xxAlarm", "REST API",
			on.restAPI.MetricServerError(labelled("REST API 5xx")), on.restAPI.MetricCount(sum),
			"AWS/ApiGateway 5XXError/Count, ApiName"})
	}
	if on.httpAPI != nil {
		doors = append(doors, door{"HttpApi5xxAlarm", "HTTP API",
			on.httpAPI.MetricServerError(labelled("HTTP API 5xx")), on.httpAPI.MetricCount(sum),
			"AWS/ApiGateway 5xx/Count, ApiId"})
	}
	// Throttled reads and writes of the table (SDK retries hide them from
	// the gateway's own metrics until they run out).
	tableThrottles := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("FILL(reads, 0) + FILL(writes, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"reads":  on.table.Metric(jsii.String("ReadThrottleEvents"), sum),
			"writes": on.table.Metric(jsii.String("WriteThrottleEvents"), sum),
		},
		Period: period,
		Label:  jsii.String("throttled reads + writes"),
	})
	var fnOrder []string
	for _, name := range []string{"Api", "Stream"} {
		if fns[name] != nil {
			fnOrder = append(fnOrder, name)
		}
	}
	lambdaMetrics := func(f func(fn awslambda.Function, o *awscloudwatch.MetricOptions) awscloudwatch.Metric,
		stat string) []awscloudwatch.IMetric {
		var out []awscloudwatch.IMetric
		for _, name := range fnOrder {
			out = append(out, f(fns[name], &awscloudwatch.MetricOptions{
				Statistic: jsii.String(stat), Period: period, Label: jsii.String(name),
			}))
		}
		return out
	}

	var alarms []awscloudwatch.Alarm
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold, periods float64,
		op awscloudwatch.ComparisonOperator) {
		alarms = append(alarms, awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			DatapointsToAlarm:  jsii.Number(periods),
			ComparisonOperator: op,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}))
	}
	every := fmt.Sprintf("%d s", int(m.PeriodSeconds))
	if !m.DisableAlarms {
		if !m.DisableErrorRateAlarm {
			alarm("ErrorRateAlarm", fmt.Sprintf("AI gateway: more than %v%% of requests answered 5xx (%s %s/%s) for %v periods of %s",
				m.ErrorRatePercent, m.Namespace, metricErrors, metricRequests, m.ErrorRatePeriods, every),
				errorRate, m.ErrorRatePercent, m.ErrorRatePeriods, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
		}
		if !m.DisableLatencyAlarm {
			alarm("LatencyAlarm", fmt.Sprintf("AI gateway: p99 %s above %v ms for %v periods of %s",
				metricLatency, m.LatencyP99Ms, m.LatencyPeriods, every),
				gw(metricLatency, "p99", "Latency p99"), m.LatencyP99Ms, m.LatencyPeriods,
				awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
		}
		if !m.DisableThrottleAlarms {
			for _, name := range fnOrder {
				alarm(name+"ThrottlesAlarm", fmt.Sprintf("AI gateway: the %s function was throttled (Lambda Throttles > 0 in %s)", name, every),
					fns[name].MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period}),
					0, 1, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
			}
		}
		if !m.DisableBreakerAlarm {
			alarm("BreakerOpenAlarm", fmt.Sprintf("AI gateway: a provider circuit breaker opened (%s >= 1 in %s)", metricBreakerOpen, every),
				gw(metricBreakerOpen, "Sum", "Breaker opens"), 1, 1,
				awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
		}
		// The gateway answers its own errors as HTTP responses: a Lambda
		// error is an init failure, a crash or a timeout, none of which
		// writes an EMF line.
		if !m.DisableLambdaErrorAlarms {
			for _, name := range fnOrder {
				alarm(name+"ErrorsAlarm", fmt.Sprintf("AI gateway: the %s function failed (Lambda Errors >= 1 in %s: "+
					"init failure, crash or timeout)", name, every),
					fns[name].MetricErrors(sum), 1, 1,
					awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
			}
		}
		if !m.DisableDurationAlarms {
			for _, name := range fnOrder {
				ms := math.Round(on.timeoutSeconds[name] * 1000 * m.DurationTimeoutPercent / 100)
				alarm(name+"DurationAlarm", fmt.Sprintf("AI gateway: an invocation of the %s function ran at least %v ms, "+
					"%v%% of its %v s timeout (Lambda Duration Maximum in %s)",
					name, ms, m.DurationTimeoutPercent, on.timeoutSeconds[name], every),
					fns[name].MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}),
					ms, 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
			}
		}
		if !m.DisableFrontDoor5xxAlarms {
			for _, d := range doors {
				alarm(d.alarm, fmt.Sprintf("AI gateway: more than %v%% of %s requests answered 5xx (%s) for %v periods of %s",
					m.ErrorRatePercent, d.name, d.source, m.ErrorRatePeriods, every),
					rate(d.errors, d.request, d.name+" 5xx rate (%)"), m.ErrorRatePercent, m.ErrorRatePeriods,
					awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
			}
		}
		if !m.DisableTableThrottleAlarm {
			alarm("TableThrottlesAlarm", fmt.Sprintf("AI gateway: DynamoDB throttled the state table "+
				"(ReadThrottleEvents + WriteThrottleEvents > 0 in %s)", every),
				tableThrottles, 0, 1, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
		}
	}
	if topic := alarmTopic(stack, m, len(alarms) > 0); topic != nil {
		action := awscloudwatchactions.NewSnsAction(topic)
		for _, a := range alarms {
			a.AddAlarmAction(action)
			a.AddOkAction(action)
		}
	}

	graph := func(title, unit string, width float64, left ...awscloudwatch.IMetric) awscloudwatch.GraphWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(width), Height: jsii.Number(6),
			LeftYAxis: &awscloudwatch.YAxisProps{Label: jsii.String(unit), ShowUnits: jsii.Bool(false), Min: jsii.Number(0)},
		})
	}
	dashboard := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(m.DashboardName),
	})
	dashboard.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String(fmt.Sprintf("# AI gateway\nGateway metrics from namespace `%s` (all providers, models "+
			"and routes; the *by provider* graphs split them), then the Lambda functions and the front doors.", m.Namespace)),
		Width: jsii.Number(24), Height: jsii.Number(2),
	}))
	if len(alarms) > 0 {
		refs := make([]interfacesawscloudwatch.IAlarmRef, len(alarms))
		for i, a := range alarms {
			refs[i] = a
		}
		dashboard.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title: jsii.String("Alarms"), Alarms: &refs, Width: jsii.Number(24), Height: jsii.Number(3),
		}))
	}
	dashboard.AddWidgets(
		graph("Requests and 5xx errors", "count", 8, gw(metricRequests, "Sum", "Requests"), gw(metricErrors, "Sum", "5xx errors")),
		graph("5xx rate", "%", 8, errorRate),
		graph("Latency", "ms", 8, gw(metricLatency, "p50", "p50"), gw(metricLatency, "p99", "p99"),
			gw(metricUpstreamLatency, "p99", "upstream p99")),
	)
	dashboard.AddWidgets(
		graph("Time to first byte (streams)", "ms", 8, gw(metricTimeToFirstByte, "p50", "p50"),
			gw(metricTimeToFirstByte, "p99", "p99")),
		graph("Tokens", "tokens", 8, gw(metricInputTokens, "Sum", "input"), gw(metricOutputTokens, "Sum", "output")),
		graph("Cost", "USD", 8, gw(metricCostUSD, "Sum", "cost (USD)")),
	)
	dashboard.AddWidgets(
		graph("Cache hits", "count", 6, gw(metricCacheHits, "Sum", "cache hits")),
		graph("Rate-limited (429)", "count", 6, gw(metricRateLimited, "Sum", "rate-limited")),
		graph("Failovers", "count", 6, gw(metricFailovers, "Sum", "failovers")),
		graph("Circuit breaker opens", "count", 6, gw(metricBreakerOpen, "Sum", "breaker opens")),
	)
	dashboard.AddWidgets(
		graph("Requests by provider", "count", 12, byProvider(metricRequests, "Sum")),
		graph("Latency p99 by provider", "ms", 12, byProvider(metricLatency, "p99")),
	)
	dashboard.AddWidgets(
		graph("Lambda throttles", "count", 6, lambdaMetrics(awslambda.Function.MetricThrottles, "Sum")...),
		graph("Lambda errors", "count", 6, lambdaMetrics(awslambda.Function.MetricErrors, "Sum")...),
		graph("Lambda duration p99", "ms", 6, lambdaMetrics(awslambda.Function.MetricDuration, "p99")...),
		graph("Lambda concurrent executions", "count", 6, lambdaMetrics(
			func(fn awslambda.Function, o *awscloudwatch.MetricOptions) awscloudwatch.Metric {
				return fn.Metric(jsii.String("ConcurrentExecutions"), o)
			}, "Maximum")...),
	)
	var doors5xx []awscloudwatch.IMetric
	for _, d := range doors {
		doors5xx = append(doors5xx, d.errors)
	}
	dashboard.AddWidgets(
		graph("Front-door 5xx (AWS metrics)", "count", 12, doors5xx...),
		graph("DynamoDB throttled events", "count", 12, tableThrottles),
	)

	awscdk.NewCfnOutput(stack, jsii.String(OutputDashboardName), &awscdk.CfnOutputProps{
		Value: dashboard.DashboardName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String(OutputDashboardURL), &awscdk.CfnOutputProps{
		Value: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("https://"), awscdk.Aws_REGION(), jsii.String(".console.aws.amazon.com/cloudwatch/home?region="),
			awscdk.Aws_REGION(), jsii.String("#dashboards/dashboard/"), dashboard.DashboardName(),
		}),
		Description: jsii.String("CloudWatch dashboard: gateway metrics, Lambda metrics and alarms"),
	})
}

// alarmTopic is the SNS topic the alarms notify: AlarmTopicARN's, or one
// created for AlarmEmail, which is subscribed to either; nil without both or
// without alarms.
func alarmTopic(stack awscdk.Stack, m MonitoringProps, haveAlarms bool) awssns.ITopic {
	if !haveAlarms || (m.AlarmTopicARN == "" && m.AlarmEmail == "") {
		return nil
	}
	var topic awssns.ITopic
	if m.AlarmTopicARN != "" {
		topic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(m.AlarmTopicARN))
	} else {
		created := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("AI gateway alarms"),
			EnforceSSL:  jsii.Bool(true),
		})
		// A topic policy replaces SNS's default one: let this account's
		// alarms publish explicitly.
		created.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowThisAccountsAlarms"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{created.TopicArn()},
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
				"ArnLike": map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{
					jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":cloudwatch:"), awscdk.Aws_REGION(),
					jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":alarm:*"),
				})},
			},
		}))
		topic = created
	}
	if m.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(m.AlarmEmail), nil))
	}
	awscdk.NewCfnOutput(stack, jsii.String(OutputAlarmTopicARN), &awscdk.CfnOutputProps{
		Value: topic.TopicArn(), Description: jsii.String("SNS topic the alarms notify"),
	})
	return topic
}
