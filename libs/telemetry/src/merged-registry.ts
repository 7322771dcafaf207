import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/**
 * One scrape over several registries whose metrics share names (the one-process mode runs five
 * services, each with its own `ServiceMetrics`). prom-client's `Registry.merge` refuses duplicate
 * names and plain concatenation repeats `# HELP`/`# TYPE` lines, which Prometheus rejects; so the
 * sources are aggregated per scrape as prom-client's cluster mode does. Each source's `service`
 * default label keeps the series apart, so nothing is summed across services.
 */
export class MergedRegistry extends Registry {
  constructor(
    private readonly sources: () => Registry[],
    /** Runs before every scrape (gauges computed on demand, like consumer lag). */
    private readonly beforeScrape?: () => void,
  ) {
    super();
  }

  override async metrics(): Promise<string> {
    return (await this.aggregate()).metrics();
  }

  override async getMetricsAsJSON(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return (await this.aggregate()).getMetricsAsJSON();
  }

  private async aggregate(): Promise<Registry> {
    this.beforeScrape?.();
    const snapshots = await Promise.all(this.sources().map((registry) => registry.getMetricsAsJSON()));
    return AggregatorRegistry.aggregate(snapshots);
  }
}
