import { Alert, Card, CardBody, CardTitle, Content } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import ExclamationCircleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon';
import type { Capacity, MPIJobSpec } from '../api/types';
import { capacityRows, computeTotals, formatCPU, formatMemory } from '../lib/quantity';

export interface ResourceCalculatorProps {
  spec: MPIJobSpec | undefined;
  capacity?: Capacity;
  capacityError?: string;
}

/** ResourceCalculator shows the job's totals (workers × per worker + launcher) next to what is available. */
export function ResourceCalculator({ spec, capacity, capacityError }: ResourceCalculatorProps) {
  const t = computeTotals(spec);
  const rows = capacityRows(t, capacity);
  const exceeded = rows.filter((r) => r.exceeds);
  const summary = `${t.gpus} GPUs, ${formatCPU(t.cpu)} CPUs, ${formatMemory(t.memory)} memory, ${t.slots} MPI ranks`;
  return (
    <Card isCompact aria-labelledby="calc-title" data-testid="resource-calculator">
      <CardTitle id="calc-title" component="h2">
        Total resources required
      </CardTitle>
      <CardBody>
        <Content component="p" aria-live="polite" data-testid="calc-summary">
          {summary}
        </Content>
        <Content component="small">
          {t.workers} worker{t.workers === 1 ? '' : 's'} × per-worker resources + launcher
        </Content>
        <Table aria-label="Requested and available resources" variant="compact" borders={false}>
          <Thead>
            <Tr>
              <Th>Resource</Th>
              <Th>This job</Th>
              <Th>Available</Th>
            </Tr>
          </Thead>
          <Tbody>
            {rows.map((r) => (
              <Tr key={r.kind} data-testid={`calc-row-${r.kind}`}>
                <Td dataLabel="Resource">{r.label}</Td>
                <Td dataLabel="This job">
                  {r.exceeds ? (
                    <span className="odh-danger-text">
                      <ExclamationCircleIcon /> {r.requestedText} <span className="pf-v6-screen-reader">exceeds available</span>
                    </span>
                  ) : (
                    r.requestedText
                  )}
                </Td>
                <Td dataLabel="Available">
                  {r.availableText ?? '—'}
                  {r.hardText ? ` of ${r.hardText}` : ''}
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
        {capacity?.source && <Content component="small">Source: {capacity.source}</Content>}
        {capacityError && <Content component="small">Capacity unavailable: {capacityError}</Content>}
        {t.invalid.length > 0 && (
          <Content component="small">Some quantities are not valid and count as zero.</Content>
        )}
        {exceeded.length > 0 && (
          <Alert
            variant="warning"
            isInline
            isPlain
            component="h3"
            title={`This job asks for more ${exceeded.map((r) => r.label).join(', ')} than is available; it will wait or be rejected.`}
          />
        )}
      </CardBody>
    </Card>
  );
}
