import { Label } from '@patternfly/react-core';
import CheckCircleIcon from '@patternfly/react-icons/dist/esm/icons/check-circle-icon';
import ExclamationCircleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon';
import InProgressIcon from '@patternfly/react-icons/dist/esm/icons/in-progress-icon';
import PendingIcon from '@patternfly/react-icons/dist/esm/icons/pending-icon';
import PauseCircleIcon from '@patternfly/react-icons/dist/esm/icons/pause-circle-icon';
import HourglassHalfIcon from '@patternfly/react-icons/dist/esm/icons/hourglass-half-icon';
import TrashIcon from '@patternfly/react-icons/dist/esm/icons/trash-icon';
import SyncAltIcon from '@patternfly/react-icons/dist/esm/icons/sync-alt-icon';
import type { ReactNode } from 'react';
import { phaseColor } from '../lib/status';

function icon(phase: string): ReactNode {
  switch (phase) {
    case 'Succeeded':
      return <CheckCircleIcon />;
    case 'Failed':
      return <ExclamationCircleIcon />;
    case 'Running':
      return <InProgressIcon />;
    case 'Starting':
      return <SyncAltIcon />;
    case 'Suspended':
      return <PauseCircleIcon />;
    case 'Queued':
      return <HourglassHalfIcon />;
    case 'Deleting':
      return <TrashIcon />;
    default:
      return <PendingIcon />;
  }
}

/** StatusLabel shows a phase as text + icon + colour (never colour alone). */
export function StatusLabel({ phase, compact }: { phase?: string; compact?: boolean }) {
  const p = phase || 'Pending';
  return (
    <Label color={phaseColor(p)} icon={icon(p)} isCompact={compact} data-phase={p}>
      {p}
    </Label>
  );
}
